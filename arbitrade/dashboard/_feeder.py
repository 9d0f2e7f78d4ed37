"""Keep the read model and the metrics up to date from the bus, never slowing a publisher.

One lossy-latest subscription per topic: if the dashboard falls behind, the oldest queued
messages are dropped (and counted in the bus statistics) instead of making publishers wait.
"""

from __future__ import annotations

import trio

from actors import RESTART_LOG_TOPIC, Bus, LossyLatest, Subscription
from arbitrade.dashboard._metrics import DashboardMetrics
from arbitrade.dashboard._model import DashboardModel
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_FEED_STATE,
    TOPIC_FILLS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_PORTFOLIO,
    TOPIC_RISK_DECISIONS,
)
from arbitrade.strategy.stat_arb import TOPIC_STAT_ARB

DASHBOARD_TOPICS = (
    TOPIC_OPPORTUNITIES,
    TOPIC_RISK_DECISIONS,
    TOPIC_BOOK_TOP,
    TOPIC_BOOK_STATE,
    TOPIC_FEED_STATE,
    TOPIC_ORDERS,
    TOPIC_FILLS,
    TOPIC_CYCLES,
    TOPIC_PORTFOLIO,
    TOPIC_AUDIT,
    TOPIC_CONTROL,
    TOPIC_STAT_ARB,
    RESTART_LOG_TOPIC,
)
"""Every topic the read model folds in."""

FEEDER_CAPACITY = 10_000
"""Messages queued per topic before the oldest is dropped (only under pathological load)."""


async def feed_model(
    bus: Bus,
    model: DashboardModel,
    metrics: DashboardMetrics | None = None,
    *,
    capacity: int = FEEDER_CAPACITY,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Apply every message on :data:`DASHBOARD_TOPICS` to ``model`` (and ``metrics``).

    Reports started once subscribed, so nothing published afterwards is missed (unless
    dropped for lack of room). Runs until cancelled; the subscriptions are closed on the way
    out. An exception from the model propagates: a bug there should be seen, not hidden.
    """
    subscriptions = [bus.subscribe(topic, LossyLatest(capacity)) for topic in DASHBOARD_TOPICS]
    try:
        async with trio.open_nursery() as nursery:
            for subscription in subscriptions:
                nursery.start_soon(_drain, subscription, model, metrics)
            task_status.started()
    finally:
        for subscription in subscriptions:
            subscription.close()


async def _drain(
    subscription: Subscription, model: DashboardModel, metrics: DashboardMetrics | None
) -> None:
    topic = subscription.topic
    async for message in subscription:
        model.apply(message)
        if metrics is not None:
            metrics.observe(topic, message)
