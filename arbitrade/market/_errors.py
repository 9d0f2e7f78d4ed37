"""What the feed actors raise.

Exception tree::

    ConnectionError
     └── FeedDisconnected    the connection dropped, went silent, or could not subscribe:
                             the feed crashes and its supervisor reconnects it
"""

from __future__ import annotations

__all__ = ["FeedDisconnected"]


class FeedDisconnected(ConnectionError):
    """The feed's connection dropped or went silent; the feed restarts to reconnect.

    Attributes:
        channel: the feed's channel (``book``, ``ticker``...).
        reason: what happened (``connection dropped``, ``heartbeat lost``, ...); the restart
            log shows it.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel} feed: {reason}")
