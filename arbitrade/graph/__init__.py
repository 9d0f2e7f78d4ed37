"""The pair graph and triangular-arbitrage detection with exact, depth-aware sizing.

Layering: settings and fees -> the graph of assets and pairs with its precomputed cycles ->
the float screen -> exact sizing -> the incremental detector. Nothing here awaits or imports
the actor runtime; the pair-graph actor (``arbitrade.strategy.triangular``) drives it.
"""

from arbitrade.graph._detector import CycleDetector as CycleDetector
from arbitrade.graph._detector import DetectorStatistics as DetectorStatistics
from arbitrade.graph._errors import GraphError as GraphError
from arbitrade.graph._errors import UnknownPair as UnknownPair
from arbitrade.graph._fees import FeeRates as FeeRates
from arbitrade.graph._fees import TakerFees as TakerFees
from arbitrade.graph._fees import load_taker_fees as load_taker_fees
from arbitrade.graph._pair_graph import Cycle as Cycle
from arbitrade.graph._pair_graph import CycleLeg as CycleLeg
from arbitrade.graph._pair_graph import GraphPair as GraphPair
from arbitrade.graph._pair_graph import PairGraph as PairGraph
from arbitrade.graph._settings import GraphSettings as GraphSettings
from arbitrade.graph._sizing import LegBook as LegBook
from arbitrade.graph._sizing import SizedCycle as SizedCycle
from arbitrade.graph._sizing import SizedLeg as SizedLeg
from arbitrade.graph._sizing import SizingRejected as SizingRejected
from arbitrade.graph._sizing import size_cycle as size_cycle

__all__ = [
    "Cycle",
    "CycleDetector",
    "CycleLeg",
    "DetectorStatistics",
    "FeeRates",
    "GraphError",
    "GraphPair",
    "GraphSettings",
    "LegBook",
    "PairGraph",
    "SizedCycle",
    "SizedLeg",
    "SizingRejected",
    "TakerFees",
    "UnknownPair",
    "load_taker_fees",
    "size_cycle",
]
