"""A supervised actor runtime on Trio: actors, refs, OTP supervisors, a bus, a pykka bridge.

Layering: ``_specs`` (data) and ``_errors`` at the bottom; ``_ref`` (mailboxes) and ``_bus``;
``_actor``, ``_cell`` (the message loop) and ``_supervisor`` on top; ``_system`` is the entry
point. ``actors.testing`` is the test harness. Nothing here knows about trading.
"""

from ._actor import Actor as Actor
from ._actor import Context as Context
from ._bus import Bus as Bus
from ._bus import BusStatistics as BusStatistics
from ._bus import Lossless as Lossless
from ._bus import LossyLatest as LossyLatest
from ._bus import Subscription as Subscription
from ._bus import SubscriptionStatistics as SubscriptionStatistics
from ._errors import ActorCrashed as ActorCrashed
from ._errors import ActorError as ActorError
from ._errors import ActorNotFound as ActorNotFound
from ._errors import ActorStopped as ActorStopped
from ._errors import AskTimeout as AskTimeout
from ._errors import ChildStartFailed as ChildStartFailed
from ._errors import MailboxFull as MailboxFull
from ._errors import MutableMessage as MutableMessage
from ._errors import SupervisorGaveUp as SupervisorGaveUp
from ._events import RESTART_LOG_TOPIC as RESTART_LOG_TOPIC
from ._events import ChildCrashed as ChildCrashed
from ._events import ChildRestarted as ChildRestarted
from ._events import ChildStarted as ChildStarted
from ._events import ChildStopped as ChildStopped
from ._events import RestartLog as RestartLog
from ._events import SupervisorEscalated as SupervisorEscalated
from ._events import SupervisorEvent as SupervisorEvent
from ._ref import DEFAULT_ASK_TIMEOUT as DEFAULT_ASK_TIMEOUT
from ._ref import MailboxStatistics as MailboxStatistics
from ._ref import Ref as Ref
from ._registry import NodeInfo as NodeInfo
from ._registry import Registry as Registry
from ._specs import Backoff as Backoff
from ._specs import ChildSpec as ChildSpec
from ._specs import Intensity as Intensity
from ._specs import Mailbox as Mailbox
from ._specs import Overflow as Overflow
from ._specs import Restart as Restart
from ._specs import Strategy as Strategy
from ._specs import SupervisorSpec as SupervisorSpec
from ._system import DEBUG_ENV as DEBUG_ENV
from ._system import System as System
from ._system import open_system as open_system
from ._system import run_system as run_system
from ._thread import ThreadActor as ThreadActor
from ._thread import ThreadChild as ThreadChild
