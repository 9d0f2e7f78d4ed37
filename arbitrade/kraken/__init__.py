"""The client side of Kraken: codec, messages, REST and WebSocket v2 clients.

Layering, bottom up: ``_numbers`` and ``_fields`` (exact numbers, field readers);
``_messages``/``_trading_messages`` (typed values) and ``_errors`` (the exception tree);
``_book_codec`` and ``_codec`` (frames to messages); ``_signing``, ``_ratelimit`` and
``_symbols``; then the clients, ``_rest`` (httpx) and ``_ws`` over the ``_transport`` seam.
Books live in :mod:`arbitrade.market.book`. Import from here, not from underscore modules.
"""

from arbitrade.kraken._codec import Decoder as Decoder
from arbitrade.kraken._codec import DecoderStatistics as DecoderStatistics
from arbitrade.kraken._codec import Message as Message
from arbitrade.kraken._codec import encode_request as encode_request
from arbitrade.kraken._errors import CostMinimumNotMet as CostMinimumNotMet
from arbitrade.kraken._errors import DeadlineElapsed as DeadlineElapsed
from arbitrade.kraken._errors import FeatureDisabled as FeatureDisabled
from arbitrade.kraken._errors import InsufficientFunds as InsufficientFunds
from arbitrade.kraken._errors import InternalError as InternalError
from arbitrade.kraken._errors import InvalidArguments as InvalidArguments
from arbitrade.kraken._errors import InvalidKey as InvalidKey
from arbitrade.kraken._errors import InvalidNonce as InvalidNonce
from arbitrade.kraken._errors import InvalidSignature as InvalidSignature
from arbitrade.kraken._errors import KrakenApiError as KrakenApiError
from arbitrade.kraken._errors import KrakenConnectError as KrakenConnectError
from arbitrade.kraken._errors import KrakenConnectionClosed as KrakenConnectionClosed
from arbitrade.kraken._errors import KrakenError as KrakenError
from arbitrade.kraken._errors import KrakenException as KrakenException
from arbitrade.kraken._errors import KrakenGeneralError as KrakenGeneralError
from arbitrade.kraken._errors import KrakenOrderError as KrakenOrderError
from arbitrade.kraken._errors import KrakenProtocolError as KrakenProtocolError
from arbitrade.kraken._errors import KrakenServiceError as KrakenServiceError
from arbitrade.kraken._errors import KrakenTimeout as KrakenTimeout
from arbitrade.kraken._errors import KrakenTransportError as KrakenTransportError
from arbitrade.kraken._errors import MarketCancelOnly as MarketCancelOnly
from arbitrade.kraken._errors import MarketPostOnly as MarketPostOnly
from arbitrade.kraken._errors import OrderMinimumNotMet as OrderMinimumNotMet
from arbitrade.kraken._errors import OrderRateLimitExceeded as OrderRateLimitExceeded
from arbitrade.kraken._errors import OrdersLimitExceeded as OrdersLimitExceeded
from arbitrade.kraken._errors import PermissionDenied as PermissionDenied
from arbitrade.kraken._errors import RateLimitExceeded as RateLimitExceeded
from arbitrade.kraken._errors import RequestTimedOut as RequestTimedOut
from arbitrade.kraken._errors import ServiceBusy as ServiceBusy
from arbitrade.kraken._errors import ServiceUnavailable as ServiceUnavailable
from arbitrade.kraken._errors import TemporaryLockout as TemporaryLockout
from arbitrade.kraken._errors import Throttled as Throttled
from arbitrade.kraken._errors import TickSizeCheckFailed as TickSizeCheckFailed
from arbitrade.kraken._errors import UnknownOrder as UnknownOrder
from arbitrade.kraken._errors import error_from_kraken as error_from_kraken
from arbitrade.kraken._messages import AssetInfo as AssetInfo
from arbitrade.kraken._messages import BookBatch as BookBatch
from arbitrade.kraken._messages import BookMessage as BookMessage
from arbitrade.kraken._messages import Candle as Candle
from arbitrade.kraken._messages import DecodeError as DecodeError
from arbitrade.kraken._messages import Heartbeat as Heartbeat
from arbitrade.kraken._messages import InstrumentMessage as InstrumentMessage
from arbitrade.kraken._messages import OhlcMessage as OhlcMessage
from arbitrade.kraken._messages import PairInfo as PairInfo
from arbitrade.kraken._messages import Pong as Pong
from arbitrade.kraken._messages import RequestRejected as RequestRejected
from arbitrade.kraken._messages import Status as Status
from arbitrade.kraken._messages import SubscriptionAck as SubscriptionAck
from arbitrade.kraken._messages import Ticker as Ticker
from arbitrade.kraken._messages import TickerMessage as TickerMessage
from arbitrade.kraken._messages import Trade as Trade
from arbitrade.kraken._messages import TradeMessage as TradeMessage
from arbitrade.kraken._ratelimit import ApiCounterLimiter as ApiCounterLimiter
from arbitrade.kraken._ratelimit import ApiTier as ApiTier
from arbitrade.kraken._ratelimit import LimiterStatistics as LimiterStatistics
from arbitrade.kraken._ratelimit import rest_call_cost as rest_call_cost
from arbitrade.kraken._rest import AddOrderResult as AddOrderResult
from arbitrade.kraken._rest import KrakenRestClient as KrakenRestClient
from arbitrade.kraken._rest import RestErrorSeen as RestErrorSeen
from arbitrade.kraken._rest import RetryPolicy as RetryPolicy
from arbitrade.kraken._signing import NonceSource as NonceSource
from arbitrade.kraken._signing import api_sign as api_sign
from arbitrade.kraken._symbols import AssetPair as AssetPair
from arbitrade.kraken._symbols import SymbolMap as SymbolMap
from arbitrade.kraken._symbols import normalize_asset as normalize_asset
from arbitrade.kraken._symbols import v2_symbol as v2_symbol
from arbitrade.kraken._trading_messages import AddOrder as AddOrder
from arbitrade.kraken._trading_messages import AddOrderAck as AddOrderAck
from arbitrade.kraken._trading_messages import BatchAddAck as BatchAddAck
from arbitrade.kraken._trading_messages import BatchCancelAck as BatchCancelAck
from arbitrade.kraken._trading_messages import CancelAfterAck as CancelAfterAck
from arbitrade.kraken._trading_messages import CancelAllAck as CancelAllAck
from arbitrade.kraken._trading_messages import CancelOrder as CancelOrder
from arbitrade.kraken._trading_messages import CancelOrderAck as CancelOrderAck
from arbitrade.kraken._trading_messages import Execution as Execution
from arbitrade.kraken._trading_messages import ExecutionsMessage as ExecutionsMessage
from arbitrade.kraken._trading_messages import Fee as Fee
from arbitrade.kraken._trading_messages import OrderAck as OrderAck
from arbitrade.kraken._transport import Connection as Connection
from arbitrade.kraken._transport import ReplayTransport as ReplayTransport
from arbitrade.kraken._transport import Transport as Transport
from arbitrade.kraken._transport import TrioWebsocketTransport as TrioWebsocketTransport
from arbitrade.kraken._ws import Backoff as Backoff
from arbitrade.kraken._ws import KrakenWsClient as KrakenWsClient
from arbitrade.kraken._ws import WsStatistics as WsStatistics

__all__ = [
    "AddOrder",
    "AddOrderAck",
    "AddOrderResult",
    "ApiCounterLimiter",
    "ApiTier",
    "AssetInfo",
    "AssetPair",
    "Backoff",
    "BatchAddAck",
    "BatchCancelAck",
    "BookBatch",
    "BookMessage",
    "CancelAfterAck",
    "CancelAllAck",
    "CancelOrder",
    "CancelOrderAck",
    "Candle",
    "Connection",
    "CostMinimumNotMet",
    "DeadlineElapsed",
    "DecodeError",
    "Decoder",
    "DecoderStatistics",
    "Execution",
    "ExecutionsMessage",
    "FeatureDisabled",
    "Fee",
    "Heartbeat",
    "InstrumentMessage",
    "InsufficientFunds",
    "InternalError",
    "InvalidArguments",
    "InvalidKey",
    "InvalidNonce",
    "InvalidSignature",
    "KrakenApiError",
    "KrakenConnectError",
    "KrakenConnectionClosed",
    "KrakenError",
    "KrakenException",
    "KrakenGeneralError",
    "KrakenOrderError",
    "KrakenProtocolError",
    "KrakenRestClient",
    "KrakenServiceError",
    "KrakenTimeout",
    "KrakenTransportError",
    "KrakenWsClient",
    "LimiterStatistics",
    "MarketCancelOnly",
    "MarketPostOnly",
    "Message",
    "NonceSource",
    "OhlcMessage",
    "OrderAck",
    "OrderMinimumNotMet",
    "OrderRateLimitExceeded",
    "OrdersLimitExceeded",
    "PairInfo",
    "PermissionDenied",
    "Pong",
    "RateLimitExceeded",
    "ReplayTransport",
    "RequestRejected",
    "RequestTimedOut",
    "RestErrorSeen",
    "RetryPolicy",
    "ServiceBusy",
    "ServiceUnavailable",
    "Status",
    "SubscriptionAck",
    "SymbolMap",
    "TemporaryLockout",
    "Throttled",
    "TickSizeCheckFailed",
    "Ticker",
    "TickerMessage",
    "Trade",
    "TradeMessage",
    "Transport",
    "TrioWebsocketTransport",
    "UnknownOrder",
    "WsStatistics",
    "api_sign",
    "encode_request",
    "error_from_kraken",
    "normalize_asset",
    "rest_call_cost",
    "v2_symbol",
]
