"""Resident set size of a process, sampled on a timer (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path

import trio


def rss_bytes(pid: int) -> int | None:
    """The process's resident set size in bytes, or None when it is gone or /proc is absent."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


class RssSampler:
    """Collects ``(seconds since the first sample, bytes)`` pairs for one process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._start: float | None = None

    def sample(self, now: float) -> None:
        """Take one sample at ``now`` (Trio clock); nothing if the process is gone."""
        value = rss_bytes(self.pid)
        if value is None:
            return
        if self._start is None:
            self._start = now
        self.samples.append((now - self._start, float(value)))

    async def run(self, interval: float) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        while True:
            self.sample(trio.current_time())
            await trio.sleep(interval)
