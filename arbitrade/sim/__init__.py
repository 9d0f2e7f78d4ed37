"""A Kraken look-alike on loopback: REST and WebSocket v2, a seeded market, matching, faults.

Start it embedded with ``running = await nursery.start(serve_simulator, SimConfig())`` or from
the command line with ``arbitrade sim``. ``running.simulator`` is the Python API: fault knobs
(:meth:`Simulator.set_faults`), the mispricing hook (:meth:`Simulator.inject_mispricing`), the
record of the orders received (``received_orders``, the last ``SimConfig.received_orders_keep``),
and the market model itself. Every record the simulator keeps while it runs is bounded (see
``SimConfig``'s ``*_keep`` fields), so its memory stays flat however long it runs.
"""

# Public names are re-exported here; the implementation lives in private modules.
from arbitrade.sim._book import Book as Book
from arbitrade.sim._book import Side as Side
from arbitrade.sim._book import book_checksum as book_checksum
from arbitrade.sim._config import DEFAULT_API_KEY as DEFAULT_API_KEY
from arbitrade.sim._config import DEFAULT_API_SECRET as DEFAULT_API_SECRET
from arbitrade.sim._config import ApiKey as ApiKey
from arbitrade.sim._config import SimConfig as SimConfig
from arbitrade.sim._errors import SimConfigError as SimConfigError
from arbitrade.sim._errors import UnknownSymbol as UnknownSymbol
from arbitrade.sim._faults import FaultSettings as FaultSettings
from arbitrade.sim._fees import FeeProfile as FeeProfile
from arbitrade.sim._fees import FeeSchedule as FeeSchedule
from arbitrade.sim._fees import load_fee_schedule as load_fee_schedule
from arbitrade.sim._market import MarketModel as MarketModel
from arbitrade.sim._market import MarketSettings as MarketSettings
from arbitrade.sim._market import Mispricing as Mispricing
from arbitrade.sim._market import StepResult as StepResult
from arbitrade.sim._market import Trade as Trade
from arbitrade.sim._mean_reverting import MeanRevertingPair as MeanRevertingPair
from arbitrade.sim._orders import ReceivedOrder as ReceivedOrder
from arbitrade.sim._process import SimulatorProcessError as SimulatorProcessError
from arbitrade.sim._process import SimulatorProcessHandle as SimulatorProcessHandle
from arbitrade.sim._process import serve_simulator_process as serve_simulator_process
from arbitrade.sim._server import RunningSimulator as RunningSimulator
from arbitrade.sim._server import serve_simulator as serve_simulator
from arbitrade.sim._simulator import Simulator as Simulator
from arbitrade.sim._thread import ThreadedSimulator as ThreadedSimulator
from arbitrade.sim._thread import simulator_in_thread as simulator_in_thread
from arbitrade.sim._universe import Pair as Pair
from arbitrade.sim._universe import Universe as Universe
from arbitrade.sim._universe import build_universe as build_universe

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "ApiKey",
    "Book",
    "FaultSettings",
    "FeeProfile",
    "FeeSchedule",
    "MarketModel",
    "MarketSettings",
    "MeanRevertingPair",
    "Mispricing",
    "Pair",
    "ReceivedOrder",
    "RunningSimulator",
    "Side",
    "SimConfig",
    "SimConfigError",
    "Simulator",
    "SimulatorProcessError",
    "SimulatorProcessHandle",
    "StepResult",
    "ThreadedSimulator",
    "Trade",
    "Universe",
    "UnknownSymbol",
    "book_checksum",
    "build_universe",
    "load_fee_schedule",
    "serve_simulator",
    "serve_simulator_process",
    "simulator_in_thread",
]
