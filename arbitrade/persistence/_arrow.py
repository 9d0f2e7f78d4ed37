"""Rows to Arrow record batches and back, as Arrow IPC bytes.

The sink turns rows into Arrow on the Trio side, a chunk of a few hundred rows at a time (a
bounded pause of a fraction of a millisecond), and hands the writer thread immutable IPC bytes.
Doing that conversion on the writer thread instead makes the Trio loop wait for the GIL for
milliseconds at a time (measured in ``benchmarks/bench_sink.py``): pyarrow holds it while it
reads Python objects, and a waiting thread gets it only after the 5 ms switch interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from arbitrade.persistence._no_pandas import settle_pyarrow_without_pandas
from arbitrade.persistence._tables import Table

# Before the first conversion anywhere in the process: pandas stays unloaded (see _no_pandas).
settle_pyarrow_without_pandas()


def encode_rows(table: Table, rows: Sequence[tuple[Any, ...]]) -> bytes:
    """``rows`` (tuples in ``table``'s column order) as one IPC-encoded record batch.

    Raises:
        pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a value does not fit its column.
    """
    # pa.array is ~500x faster on a list than on a tuple (pyarrow 26), hence list().
    columns = [list(values) for values in zip(*rows, strict=True)]
    arrays = [
        pa.array(values, type=column.arrow_type)
        for values, column in zip(columns, table.columns, strict=True)
    ]
    batch = pa.RecordBatch.from_arrays(arrays, schema=table.arrow_schema)
    return batch.serialize().to_pybytes()


def decode_chunks(table: Table, chunks: Sequence[bytes]) -> pa.Table:
    """The chunks made by :func:`encode_rows` as one Arrow table (no copy of the data)."""
    schema = table.arrow_schema
    batches = [pa.ipc.read_record_batch(pa.py_buffer(chunk), schema) for chunk in chunks]
    return pa.Table.from_batches(batches, schema=schema)
