"""How fast the market tree gets every book back, and how far its feeds read behind.

    .venv/bin/python benchmarks/bench_feed_recovery.py [--drops 3] [--no-channels] [--no-conflate]
        [--ws-transport trio-websocket]

Runs the simulator (the whole Kraken-shaped universe, as the soak does) and the app's market
supervisor (book feed, ticker and trade feeds, pair graph) in one process, like the soak. It
prints, as tables:

* time until every book is live: at start, and after each dropped connection (from the drop
  to the last book's snapshot, the feed's restart backoff included);
* feed lag: from a change of the exchange's status in the simulator to each feed's
  ``feed.exchange_status`` audit event. A status goes out after everything already queued
  for the connection, so this is how many seconds behind the exchange each feed reads.

Numbers depend on the machine's load: the simulator's market model and the feeds share one
core.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import attrs
import trio

from actors import Lossless, SupervisorSpec, System
from arbitrade.components import load_components
from arbitrade.graph import TakerFees
from arbitrade.logs import configure_logging
from arbitrade.market.feeds import FeedLag, GetFeedLag
from arbitrade.market.wiring import market_supervisor
from arbitrade.messages import TOPIC_AUDIT, TOPIC_BOOK_STATE, AuditEvent, BookHealth
from arbitrade.sim import SimConfig, serve_simulator


async def run(drops: int, channels: bool, conflate: bool, ws_transport: str) -> None:
    components = load_components()
    market = components.market if channels else attrs.evolve(components.market, channels=())
    market = attrs.evolve(market, conflate=conflate, ws_transport=ws_transport)
    async with trio.open_nursery() as nursery:
        running = await nursery.start(serve_simulator, SimConfig(seed=1))
        wanted = len(running.simulator.universe.pairs)
        system = System()
        states = system.bus.subscribe(TOPIC_BOOK_STATE, Lossless(1_000_000))
        audits = system.bus.subscribe(TOPIC_AUDIT, Lossless(1_000_000))
        health: dict[str, BookHealth] = {}
        seen: list[tuple[float, AuditEvent]] = []

        async def drain_states() -> None:
            async for change in states:
                health[change.symbol] = change.health

        async def drain_audits() -> None:
            async for event in audits:
                seen.append((trio.current_time(), event))

        nursery.start_soon(drain_states)
        nursery.start_soon(drain_audits)
        fees = TakerFees.flat(Decimal("0.0026"))
        spec = SupervisorSpec(
            "root",
            [
                market_supervisor(
                    running.ws_public_url,
                    market,
                    components.graph,
                    fees,
                    wall_clock=time.time,
                )
            ],
        )

        async def all_live(since: float) -> float | None:
            with trio.move_on_after(300.0):
                while True:
                    # synced counts: a lagging feed's books are STALE, not resyncing
                    live = [h for h in health.values() if h is not BookHealth.RESYNCING]
                    if len(health) >= wanted - 10 and len(live) == len(health):
                        return trio.current_time() - since
                    await trio.sleep(0.02)
            return None

        start = trio.current_time()
        await nursery.start(system.run, spec)
        rows = [("start", await all_live(start))]
        for drop in range(drops):
            await trio.sleep(5.0)
            at = trio.current_time()
            running.simulator.drop_connections()
            await trio.sleep(0.3)  # the feeds mark their books resyncing
            rows.append((f"drop {drop + 1}", await all_live(at)))
        print(f"books live ({len(health)} books, channels: {', '.join(market.channels) or '-'})")
        print("| when | seconds until every book is live |")
        print("|---|---|")
        for label, seconds in rows:
            print(f"| {label} | {'-' if seconds is None else f'{seconds:.2f}'} |")

        print()
        print("feed lag: status change in the simulator -> the feed's audit event (s)")
        feeds = ["book", *market.channels]
        print("| status | " + " | ".join(feeds) + " |")
        print("|---" * (len(feeds) + 1) + "|")
        for status in ("post_only", "online"):
            await trio.sleep(5.0)
            at, mark = trio.current_time(), len(seen)
            running.simulator.set_faults({"system_status": status})
            lags: dict[str, float] = {}
            with trio.move_on_after(180.0):
                while len(lags) < len(feeds):
                    for when, event in seen[mark:]:
                        if event.kind == "feed.exchange_status" and event.subject == status:
                            lags.setdefault(event.actor.rsplit(".", 1)[-1], when - at)
                    await trio.sleep(0.05)
            cells = [f"{lags[f]:.2f}" if f in lags else "-" for f in feeds]
            print(f"| {status} | " + " | ".join(cells) + " |")
        lag = await system.registry.lookup("root/market/feed.book").ask(GetFeedLag())
        assert isinstance(lag, FeedLag)
        episodes = [e for _, e in seen if e.kind in ("feed.lagging", "feed.caught_up")]
        print()
        print(f"book feed lag (conflate={conflate}, ws_transport={ws_transport})")
        print("| lag now s | worst s | episodes | largest batch | batches | tops conflated |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {lag.lag:.2f} | {lag.worst_lag:.2f} | {lag.lag_episodes} | {lag.largest_batch}"
            f" | {lag.batches:,} | {lag.conflated:,} |"
        )
        for event in episodes:
            print(f"  {event.kind} {event.detail}")
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drops", type=int, default=3)
    parser.add_argument("--no-channels", action="store_true", help="the book feed alone")
    parser.add_argument("--no-conflate", action="store_true", help="one top per frame")
    parser.add_argument("--ws-transport", default="wsproto", help="or trio-websocket")
    args = parser.parse_args()
    configure_logging(level="ERROR")
    trio.run(run, args.drops, not args.no_channels, not args.no_conflate, args.ws_transport)


if __name__ == "__main__":
    main()
