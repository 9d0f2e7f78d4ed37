"""DuckDB persistence: schema and migrations, the sink that stores bus events in batches from
a writer thread, reading messages back, and archiving old audit rows to Parquet.

Wiring, early in the tree and before every publisher (children stop in reverse order, so the
sink then stops after the publishers and flushes, and the writer stops last)::

    from arbitrade.config import load_component
    from arbitrade.persistence import SinkSettings, sink_child, writer_child

    settings = load_component(SinkSettings, "persistence")   # config/persistence.toml
    children = [
        writer_child(app_settings.duckdb_path),               # pykka thread owning DuckDB
        sink_child(settings=settings),                        # subscribes to PERSISTED_TOPICS
        ...                                                   # feeds, strategy, risk, ...
    ]

Give the process a short GIL switch interval (``sys.setswitchinterval(0.0005)``): a busy
Trio thread then hands the GIL to the writer within 0.5 ms, not CPython's default 5 ms
(see ``benchmarks/bench_sink.py``).
"""

from arbitrade.persistence._batch import Batch as Batch
from arbitrade.persistence._batch import BatchCommitted as BatchCommitted
from arbitrade.persistence._batch import TableRows as TableRows
from arbitrade.persistence._errors import ArchiveError as ArchiveError
from arbitrade.persistence._errors import ArchiveVerificationFailed as ArchiveVerificationFailed
from arbitrade.persistence._errors import BatchWriteFailed as BatchWriteFailed
from arbitrade.persistence._errors import PersistenceError as PersistenceError
from arbitrade.persistence._errors import SchemaError as SchemaError
from arbitrade.persistence._errors import SchemaTooNew as SchemaTooNew
from arbitrade.persistence._errors import UnrepresentableDecimal as UnrepresentableDecimal
from arbitrade.persistence._frames import TOPIC_RECORDED_FRAMES as TOPIC_RECORDED_FRAMES
from arbitrade.persistence._frames import RecordedFrame as RecordedFrame
from arbitrade.persistence._read import read_messages as read_messages
from arbitrade.persistence._rows import ROW_MAPPINGS as ROW_MAPPINGS
from arbitrade.persistence._rows import RowMapping as RowMapping
from arbitrade.persistence._rows import mapping_for as mapping_for
from arbitrade.persistence._schema import MIGRATIONS as MIGRATIONS
from arbitrade.persistence._schema import Migration as Migration
from arbitrade.persistence._schema import migrate as migrate
from arbitrade.persistence._schema import schema_version as schema_version
from arbitrade.persistence._settings import SinkSettings as SinkSettings
from arbitrade.persistence._sink import PERSISTED_TOPICS as PERSISTED_TOPICS
from arbitrade.persistence._sink import Flush as Flush
from arbitrade.persistence._sink import GetStatistics as GetStatistics
from arbitrade.persistence._sink import PersistenceSink as PersistenceSink
from arbitrade.persistence._sink import SinkStatistics as SinkStatistics
from arbitrade.persistence._sink import sink_child as sink_child
from arbitrade.persistence._thread import Checkpoint as Checkpoint
from arbitrade.persistence._thread import DuckDBWriterActor as DuckDBWriterActor
from arbitrade.persistence._thread import writer_child as writer_child
from arbitrade.persistence._writer import DuckDBWriter as DuckDBWriter
from arbitrade.persistence._writer import open_database as open_database
