"""Operations: reading the restart log back for ``arbitrade ops restarts``.

Nothing here runs inside the bot; these are tools for the operator, reading what the bot
wrote (its JSON log, its DuckDB file).
"""

from arbitrade.ops._restarts import ActorRestarts as ActorRestarts
from arbitrade.ops._restarts import Clock as Clock
from arbitrade.ops._restarts import DatabaseUnreadable as DatabaseUnreadable
from arbitrade.ops._restarts import LogFileUnreadable as LogFileUnreadable
from arbitrade.ops._restarts import Recovery as Recovery
from arbitrade.ops._restarts import RestartEvent as RestartEvent
from arbitrade.ops._restarts import RestartLogError as RestartLogError
from arbitrade.ops._restarts import RestartReport as RestartReport
from arbitrade.ops._restarts import read_database as read_database
from arbitrade.ops._restarts import read_log_file as read_log_file
from arbitrade.ops._restarts import summarise as summarise

__all__ = [
    "ActorRestarts",
    "Clock",
    "DatabaseUnreadable",
    "LogFileUnreadable",
    "Recovery",
    "RestartEvent",
    "RestartLogError",
    "RestartReport",
    "read_database",
    "read_log_file",
    "summarise",
]
