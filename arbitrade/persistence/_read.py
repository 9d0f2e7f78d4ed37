"""Reading stored messages back, for the dashboard, backtests and tests."""

from __future__ import annotations

import duckdb

from arbitrade.persistence._rows import mapping_for


def read_messages[M](connection: duckdb.DuckDBPyConnection, message_type: type[M]) -> list[M]:
    """Every stored message of ``message_type``, in the order they were written.

    Amounts come back as ``Decimal`` with 18 decimal places: equal to the stored values,
    not necessarily written the same way (``Decimal("1.5") == Decimal("1.500...0")``).
    ``SupervisorEvent`` returns every restart-log event, each as its own subclass.

    Raises:
        LookupError: ``message_type`` is not persisted.
    """
    mapping = mapping_for(message_type)
    if mapping is None:
        raise LookupError(f"{message_type.__name__} is not a persisted message type")
    return [mapping.from_row(row) for row in connection.execute(mapping.select).fetchall()]
