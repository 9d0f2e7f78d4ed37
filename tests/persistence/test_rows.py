"""Every persisted message type round-trips to its row exactly."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors import SupervisorEvent
from arbitrade.messages import BookTop, Fill, Opportunity, Side
from arbitrade.persistence import (
    ROW_MAPPINGS,
    DuckDBWriter,
    UnrepresentableDecimal,
    mapping_for,
    read_messages,
)
from arbitrade.persistence._buffer import RowBuffer
from arbitrade.strategy.stat_arb import ClosePosition
from tests.persistence.samples import samples


def _write(path: Path, messages: list[Any]) -> DuckDBWriter:
    buffer = RowBuffer(wall_clock=lambda: 1.0)
    for message in messages:
        buffer.add(message, now=0.0)
    writer = DuckDBWriter(path)
    writer.open()
    writer.write(buffer.take("test", 1))
    return writer


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWriter]:
    writer = _write(tmp_path_factory.mktemp("rows") / "db.duckdb", samples())
    yield writer
    writer.close()


class TestRoundTrip:
    @pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
    def test_read_when_message_was_written_returns_an_equal_message(
        self, written: DuckDBWriter, message: Any
    ) -> None:
        """A message read back equals the one written, Decimals included, exactly."""
        mapping = mapping_for(type(message))
        assert mapping is not None
        assert read_messages(written.connection, mapping.message_type).count(message) == 1

    def test_read_when_amounts_written_keeps_every_digit(self, tmp_path: Path) -> None:
        """The smallest and largest representable amounts survive unchanged."""
        fill = next(m for m in samples() if isinstance(m, Fill))
        writer = _write(tmp_path / "db.duckdb", [fill])
        (back,) = read_messages(writer.connection, Fill)
        assert back.fee == Decimal("1E-18")
        assert back.price == Decimal("64123.1")
        writer.close()

    def test_registry_when_listed_covers_every_persisted_type(self) -> None:
        """The registry maps each persisted type to its table."""
        tables = {cls.__name__: mapping.table.name for cls, mapping in ROW_MAPPINGS.items()}
        assert tables == {
            "Opportunity": "opportunities",
            "ClosePosition": "opportunities",
            "RiskAccepted": "risk_decisions",
            "RiskRejected": "risk_decisions",
            "OrderUpdate": "orders",
            "Fill": "fills",
            "CycleFinished": "cycles",
            "PortfolioSnapshot": "portfolio_snapshots",
            "AuditEvent": "audit_events",
            "SupervisorEvent": "supervisor_events",
            "RecordedFrame": "market_frames",
        }

    def test_read_when_close_and_opportunity_share_the_table_keeps_them_apart(
        self, written: DuckDBWriter
    ) -> None:
        """A stat-arb close is an opportunities row naming its position; each reads as its kind."""
        connection = written.connection
        rows = connection.execute(
            "SELECT id, closes_position, close_pair, close_reason FROM opportunities ORDER BY id"
        ).fetchall()
        assert rows == [("opp-1", "", "", ""), ("stat-7", "stat-3", "ETH/USD~BTC/USD", "exit")]
        assert [o.id for o in read_messages(connection, Opportunity)] == ["opp-1"]
        (close,) = read_messages(connection, ClosePosition)
        assert (close.position_id, close.reason) == ("stat-3", "exit")

    def test_read_when_supervisor_events_written_returns_each_subclass(
        self, tmp_path: Path
    ) -> None:
        """Restart-log events come back as their own subclasses, in order."""
        events = [m for m in samples() if isinstance(m, SupervisorEvent)]
        writer = _write(tmp_path / "db.duckdb", events)
        assert read_messages(writer.connection, SupervisorEvent) == events
        writer.close()


class TestUnmappedAndUnrepresentable:
    def test_mapping_when_type_is_not_persisted_is_none(self) -> None:
        """Book tops are not persisted (raw frames are)."""
        assert mapping_for(BookTop) is None

    def test_row_when_fee_has_19_decimals_refuses_it(self) -> None:
        """A fee that DECIMAL(38,18) cannot hold is refused, never rounded."""
        fill = Fill(
            "x",
            "c",
            "y",
            "BTC/USD",
            Side.BUY,
            Decimal(1),
            Decimal(1),
            Decimal("1E-19"),
            "USD",
            "t",
            0.0,
        )
        mapping = mapping_for(Fill)
        assert mapping is not None
        with pytest.raises(UnrepresentableDecimal, match=r"Fill\.fee"):
            mapping.to_row(fill)

    def test_buffer_when_amount_unrepresentable_keeps_a_dead_letter(self, tmp_path: Path) -> None:
        """The message is stored as a dead letter with its repr and the error."""
        fill = Fill(
            "x",
            "c",
            "y",
            "BTC/USD",
            Side.BUY,
            Decimal(1),
            Decimal(1),
            Decimal("1E-19"),
            "USD",
            "t",
            0.0,
        )
        writer = _write(tmp_path / "db.duckdb", [fill])
        rows = writer.connection.execute(
            "SELECT message_type, error, message FROM dead_letters"
        ).fetchall()
        assert rows == [
            ("Fill", str(UnrepresentableDecimal("Fill.fee", Decimal("1E-19"))), repr(fill))
        ]
        writer.close()
