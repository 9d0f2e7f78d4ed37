"""A process that writes through the real sink until it is killed (run by test_crash.py).

Usage: ``python -m tests.persistence.crash_child DB_PATH``. It publishes audit events numbered
from 0 and, after each ``Flush`` reply, prints ``committed N``: events 0..N-1 are committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import trio

from actors import SupervisorSpec, open_system
from arbitrade.messages import TOPIC_AUDIT, AuditEvent
from arbitrade.persistence import Flush, SinkSettings, sink_child, writer_child


async def main(path: Path) -> None:
    settings = SinkSettings(batch_rows=200, max_delay=0.02)
    tree = SupervisorSpec(
        "root", [writer_child(path), sink_child(settings=settings, topics=(TOPIC_AUDIT,))]
    )
    async with open_system(tree) as system:
        sink = system.registry.lookup("root/persistence_sink")
        number = 0
        while True:
            for _ in range(500):
                event = AuditEvent("crash.test", "child", f"{number:09d}", "{}", 0.0, 0.0)
                await system.bus.publish(TOPIC_AUDIT, event)
                number += 1
            await sink.ask(Flush(), timeout=30)
            print(f"committed {number}", flush=True)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]))
