"""Actor runtime benchmark: one hop, a 5-actor chain and an ask round trip, beside a bare Trio
memory channel (the floor) and pykka (the peer). Prints one table.

    .venv/bin/python benchmarks/bench_actors.py [--messages 20000]

Latency: one-way for hops (stamp at send, read in the receiver; the next message is sent only
after the receiver is idle again), round trip for asks. Throughput: back-to-back sends until
the last one is received. Ratios are to the bare-channel row of the same kind, in this run.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pykka
import trio

import actors

now = time.perf_counter_ns
CAPACITY = 1000


def percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


# -- bare Trio channels --------------------------------------------------------------------


async def bare_hops(hops: int, count: int) -> tuple[list[int], float]:
    """Latency samples (ns) and throughput (msg/s) through ``hops`` forwarding channels."""
    latencies: list[int] = []
    ack_send, ack_receive = trio.open_memory_channel[None](1)
    channels = [trio.open_memory_channel[int](CAPACITY) for _ in range(hops)]
    mode = {"ack": True}
    done = trio.Event()
    target = {"n": 0}

    async def forward(
        receive: trio.MemoryReceiveChannel[int], send: trio.MemorySendChannel[int]
    ) -> None:
        async for stamp in receive:
            await send.send(stamp)

    async def sink(receive: trio.MemoryReceiveChannel[int]) -> None:
        seen = 0
        async for stamp in receive:
            if mode["ack"]:
                latencies.append(now() - stamp)
                ack_send.send_nowait(None)
            else:
                seen += 1
                if seen == target["n"]:
                    done.set()

    async with trio.open_nursery() as nursery:
        for index in range(hops - 1):
            nursery.start_soon(forward, channels[index][1], channels[index + 1][0])
        nursery.start_soon(sink, channels[-1][1])
        head = channels[0][0]
        for _ in range(count):
            await head.send(now())
            await ack_receive.receive()
        mode["ack"] = False
        target["n"] = count
        start = now()
        for _ in range(count):
            await head.send(0)
        await done.wait()
        elapsed = now() - start
        nursery.cancel_scope.cancel()
    return latencies, count / (elapsed / 1e9)


async def bare_request_reply(count: int) -> tuple[list[int], float]:
    request_send, request_receive = trio.open_memory_channel[tuple[int, Any]](CAPACITY)
    reply_send, reply_receive = trio.open_memory_channel[int](1)

    async def server() -> None:
        async for value, reply in request_receive:
            await reply.send(value)

    latencies: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        for n in range(count):
            start = now()
            await request_send.send((n, reply_send))
            await reply_receive.receive()
            latencies.append(now() - start)
        nursery.cancel_scope.cancel()
    total = sum(latencies)
    return latencies, count / (total / 1e9)


# -- actors --------------------------------------------------------------------------------


class Forward(actors.Actor[int]):
    def __init__(self, target: str) -> None:
        self.target_path = target

    async def on_start(self) -> None:
        self.target = self.context.lookup(self.target_path)

    async def receive(self, message: int) -> object:
        await self.target.send(message)
        return None


class Sink(actors.Actor[int]):
    state: dict[str, Any]

    async def receive(self, message: int) -> object:
        state = Sink.state
        if state["ack"]:
            state["latencies"].append(now() - message)
            state["ack_send"].send_nowait(None)
        else:
            state["seen"] += 1
            if state["seen"] == state["target"]:
                state["done"].set()
        return None


class Reply(actors.Actor[int]):
    async def receive(self, message: int) -> object:
        return message


async def actor_hops(hops: int, count: int) -> tuple[list[int], float]:
    ack_send, ack_receive = trio.open_memory_channel[None](1)
    Sink.state = {
        "ack": True,
        "latencies": [],
        "ack_send": ack_send,
        "seen": 0,
        "target": 0,
        "done": trio.Event(),
    }
    mailbox = actors.Mailbox(CAPACITY)
    children = [
        actors.ChildSpec(f"a{i}", factory=Forward, args=(f"a{i + 1}",), mailbox=mailbox)
        for i in range(hops - 1)
    ]
    children.append(actors.ChildSpec(f"a{hops - 1}", factory=Sink, mailbox=mailbox))
    async with actors.open_system(actors.SupervisorSpec("root", children), debug=False) as system:
        head = system.registry.lookup("root/a0")
        for _ in range(count):
            await head.send(now())
            await ack_receive.receive()
        Sink.state["ack"] = False
        Sink.state["target"] = count
        start = now()
        for _ in range(count):
            await head.send(0)
        await Sink.state["done"].wait()
        elapsed = now() - start
    return Sink.state["latencies"], count / (elapsed / 1e9)


async def actor_ask(count: int) -> tuple[list[int], float]:
    spec = actors.SupervisorSpec("root", [actors.ChildSpec("r", factory=Reply)])
    latencies: list[int] = []
    async with actors.open_system(spec, debug=False) as system:
        ref = system.registry.lookup("root/r")
        for n in range(count):
            start = now()
            await ref.ask(n)
            latencies.append(now() - start)
    return latencies, count / (sum(latencies) / 1e9)


# -- pykka ---------------------------------------------------------------------------------


class PykkaSink(pykka.ThreadingActor):
    def __init__(self, ack: threading.Event, acking: bool) -> None:
        super().__init__()
        self.latencies: list[int] = []
        self.ack = ack
        self.acking = acking

    def on_receive(self, message: Any) -> Any:
        if message == "latencies":
            return self.latencies
        if self.acking and isinstance(message, int):
            self.latencies.append(now() - message)
            self.ack.set()
        return message


def pykka_tell(count: int) -> tuple[list[int], float]:
    ack = threading.Event()
    ref = PykkaSink.start(ack, True)
    try:
        for _ in range(count):
            ack.clear()
            ref.tell(now())
            ack.wait()
        latencies = list(ref.ask("latencies"))
    finally:
        ref.stop()
    ref = PykkaSink.start(ack, False)
    try:
        start = now()
        for n in range(count):
            ref.tell(n)
        ref.ask("latencies")
        elapsed = now() - start
    finally:
        ref.stop()
    return latencies, count / (elapsed / 1e9)


def pykka_ask(count: int) -> tuple[list[int], float]:
    ref = PykkaSink.start(threading.Event(), False)
    latencies = []
    try:
        for n in range(count):
            start = now()
            ref.ask(n)
            latencies.append(now() - start)
    finally:
        ref.stop()
    return latencies, count / (sum(latencies) / 1e9)


# -- table ---------------------------------------------------------------------------------


def run(count: int) -> list[tuple[str, str, list[int], float]]:
    rows: list[tuple[str, str, list[int], float]] = []

    def trio_case(
        kind: str, name: str, fn: Callable[[], Awaitable[tuple[list[int], float]]]
    ) -> None:
        latencies, throughput = trio.run(fn)
        rows.append((kind, name, latencies, throughput))

    trio_case("hop", "bare trio channel send/receive", lambda: bare_hops(1, count))
    trio_case("hop", "actor send (1 hop)", lambda: actor_hops(1, count))
    trio_case("chain", "bare trio 5-channel chain", lambda: bare_hops(5, count))
    trio_case("chain", "actor 5-actor chain", lambda: actor_hops(5, count))
    trio_case("ask", "bare trio request/reply", lambda: bare_request_reply(count))
    trio_case("ask", "actor ask round trip", lambda: actor_ask(count))
    pykka_count = max(1000, count // 4)
    latencies, throughput = pykka_tell(pykka_count)
    rows.append(("hop", "pykka tell (1 hop)", latencies, throughput))
    latencies, throughput = pykka_ask(pykka_count)
    rows.append(("ask", "pykka ask round trip", latencies, throughput))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    rows = run(args.messages)
    floor = {
        kind: (percentile(lat, 0.5), tput)
        for kind, name, lat, tput in rows
        if name.startswith("bare")
    }
    header = (
        f"{'case':34} {'p50 µs':>8} {'p99 µs':>8} {'msg/s':>10} "
        f"{'p50 x bare':>10} {'msg/s x bare':>12}"
    )
    print(header)
    print("-" * len(header))
    for kind, name, latencies, throughput in rows:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        bare_p50, bare_tput = floor[kind]
        print(
            f"{name:34} {p50:8.2f} {p99:8.2f} {throughput:10.0f} "
            f"{p50 / bare_p50:10.2f} {throughput / bare_tput:12.2f}"
        )
    actor_ask_p50 = next(percentile(r[2], 0.5) for r in rows if r[1] == "actor ask round trip")
    pykka_ask_p50 = next(percentile(r[2], 0.5) for r in rows if r[1] == "pykka ask round trip")
    print(f"\nactor ask is {pykka_ask_p50 / actor_ask_p50:.1f}x faster than pykka ask (p50)")
    print(
        f"messages per Trio case: {args.messages}; per pykka case: {max(1000, args.messages // 4)}"
    )


if __name__ == "__main__":
    main()
