"""The client side of Kraken: codec, messages, REST and WebSocket v2 clients.

Layering: ``_numbers`` and ``_fields`` (exact numbers, field readers) under ``_book_codec``
and ``_codec`` (frames to messages), beside ``_errors``; the REST and WebSocket clients sit on
top. Books themselves live in :mod:`arbitrade.market.book`. Import from here, not from the
underscore modules.
"""

from arbitrade.kraken._codec import Decoder as Decoder
from arbitrade.kraken._codec import DecoderStatistics as DecoderStatistics
from arbitrade.kraken._codec import Message as Message
from arbitrade.kraken._codec import encode_request as encode_request
from arbitrade.kraken._errors import *  # noqa: F403
from arbitrade.kraken._errors import __all__ as _errors_all
from arbitrade.kraken._messages import *  # noqa: F403
from arbitrade.kraken._messages import __all__ as _messages_all
from arbitrade.kraken._trading_messages import *  # noqa: F403
from arbitrade.kraken._trading_messages import __all__ as _trading_all

__all__ = [
    "Decoder",
    "DecoderStatistics",
    "Message",
    "encode_request",
    *_errors_all,
    *_messages_all,
    *_trading_all,
]
