"""Settings of the persistence sink (``config/persistence.toml``, env ``PERSISTENCE_<FIELD>``)."""

from __future__ import annotations

import attrs
from attrs import validators as v


@attrs.frozen(kw_only=True)
class SinkSettings:
    """How the sink batches rows and how hard it tries to write them. Every field has a
    default; load with ``load_component(SinkSettings, "persistence")``."""

    batch_rows: int = attrs.field(default=5000, validator=v.ge(1))
    """A batch is written as soon as this many rows are buffered (bigger batches spread the
    commit's fsync and the thread hand-offs over more rows)."""
    max_delay: float = attrs.field(default=0.25, validator=v.gt(0))
    """Seconds the oldest buffered row waits at most before its batch is written (also the
    most a kill -9 can lose, together with the batch being written)."""
    poll_interval: float = attrs.field(default=0.005, validator=v.gt(0))
    """Seconds between looks at the subscriptions when they were empty."""
    pump_budget: float = attrs.field(default=0.0003, validator=v.gt(0))
    """Seconds of work (events into rows and Arrow) the sink does before it lets the rest of
    the Trio loop run: the most it delays any other task at once."""
    chunk_rows: int = attrs.field(default=128, validator=v.ge(1))
    """Rows turned into Arrow at a time on the Trio loop (about 1 µs each)."""
    subscription_capacity: int = attrs.field(default=20_000, validator=v.ge(1))
    """Events each lossless subscription holds before publishers wait (backpressure)."""
    write_timeout: float = attrs.field(default=30.0, validator=v.gt(0))
    """Seconds one batch write may take before it is retried."""
    write_attempts: int = attrs.field(default=5, validator=v.ge(1))
    """Attempts per batch (the writer may be restarting in between); then the sink crashes."""
    retry_backoff: float = attrs.field(default=0.5, validator=v.ge(0))
    """Seconds before the second attempt, doubled for each further one."""
