"""The public face of ``arbitrade.persistence`` is deliberate."""

from __future__ import annotations

import arbitrade.persistence


def test_public_names_when_listed_are_exactly_the_documented_ones() -> None:
    """Adding or removing a public name is a visible change to this list."""
    public = sorted(name for name in vars(arbitrade.persistence) if not name.startswith("_"))
    assert public == [
        "ArchiveError",
        "ArchiveVerificationFailed",
        "Batch",
        "BatchCommitted",
        "BatchWriteFailed",
        "Checkpoint",
        "DuckDBWriter",
        "DuckDBWriterActor",
        "Flush",
        "GetStatistics",
        "MIGRATIONS",
        "Migration",
        "PERSISTED_TOPICS",
        "PersistenceError",
        "PersistenceSink",
        "ROW_MAPPINGS",
        "RecordedFrame",
        "RowMapping",
        "SchemaError",
        "SchemaTooNew",
        "SinkSettings",
        "SinkStatistics",
        "TOPIC_RECORDED_FRAMES",
        "TableRows",
        "UnrepresentableDecimal",
        "mapping_for",
        "migrate",
        "open_database",
        "read_messages",
        "schema_version",
        "sink_child",
        "writer_child",
    ]
