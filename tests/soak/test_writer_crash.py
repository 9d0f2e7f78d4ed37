"""Regression (found by the soak): a crash of the DuckDB writer thread loses rows and stalls
persistence for the sink's whole shutdown timeout (30 s) under the app's rest-for-one
persistence supervisor; one-for-one (the sink retries its batch while the writer restarts)
loses nothing and recovers at once."""

from __future__ import annotations

from pathlib import Path

import attrs
import duckdb
import pytest
import trio

from actors import ChildRestarted, Strategy, SupervisorSpec, System
from arbitrade.app import build_tree, make_venue
from arbitrade.components import load_components
from arbitrade.config import Settings
from arbitrade.messages import TOPIC_AUDIT, AuditEvent
from arbitrade.soak._inject import PoisonMessage
from arbitrade.soak._observe import RowCounter

WRITER = "root/persistence/db_writer"


def _app_persistence(path: Path) -> SupervisorSpec:
    components = load_components()
    settings = Settings(duckdb_path=path)
    tree = build_tree(settings, components, make_venue(settings, components))
    spec = tree.children[0]
    assert isinstance(spec, SupervisorSpec)
    assert spec.name == "persistence"
    return spec


async def _crash_writer_while_publishing(
    spec: SupervisorSpec, path: Path
) -> tuple[float, int, int]:
    """Publish audit events for 3 s, crash the writer after 1 s; return seconds until the
    writer restarted, rows published and rows stored."""
    system = System()
    counter = RowCounter()
    counter.attach(system.bus)
    restarted_after = float("inf")
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run, SupervisorSpec("root", [spec]))
        nursery.start_soon(counter.run)
        start = trio.current_time()
        crashed_at = None
        while trio.current_time() - start < 3.0:
            now = trio.current_time()
            await system.bus.publish(TOPIC_AUDIT, AuditEvent("soak.test", "t", "s", "{}", now, 0.0))
            if crashed_at is None and now - start > 1.0:
                crashed_at = now
                await system.registry.lookup(WRITER).send(PoisonMessage())
            await trio.sleep(0.01)
        with trio.move_on_after(40):
            while True:
                found = [
                    e.at
                    for e in system.restart_log.events()
                    if isinstance(e, ChildRestarted) and e.path == WRITER
                ]
                if found and crashed_at is not None:
                    restarted_after = found[0] - crashed_at
                    break
                await trio.sleep(0.05)
        await trio.sleep(0.5)
        # cancelling stops the tree in reverse order: the sink flushes, then the writer
        nursery.cancel_scope.cancel()
    with duckdb.connect(str(path), read_only=True) as connection:
        stored = int(connection.execute("SELECT count(*) FROM audit_events").fetchall()[0][0])
    return restarted_after, counter.published["audit_events"], stored


@pytest.mark.slow
async def test_writer_crash_when_app_persistence_supervisor_loses_no_rows(tmp_path: Path) -> None:
    """The app's persistence subtree survives a writer crash within 2 s, losing nothing."""
    path = tmp_path / "app.duckdb"
    restarted_after, published, stored = await _crash_writer_while_publishing(
        _app_persistence(path), path
    )
    assert restarted_after < 2.0
    assert stored == published


@pytest.mark.slow
async def test_writer_crash_when_persistence_is_one_for_one_loses_no_rows(tmp_path: Path) -> None:
    """One-for-one: the sink keeps its subscriptions and retries; nothing is lost."""
    path = tmp_path / "one.duckdb"
    spec = attrs.evolve(_app_persistence(path), strategy=Strategy.ONE_FOR_ONE)
    restarted_after, published, stored = await _crash_writer_while_publishing(spec, path)
    assert restarted_after < 2.0
    assert stored == published
