"""The sink and the writer never load pandas, and code that wants pandas still gets it.

Each check runs in a fresh interpreter: the test process itself may have loaded pandas already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from arbitrade.persistence._no_pandas import _HidePandasFromThread

_ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


class TestNoPandas:
    def test_write_when_every_table_gets_a_batch_leaves_pandas_unloaded(
        self, tmp_path: Path
    ) -> None:
        """Encoding rows of every persisted type and committing them never imports pandas."""
        out = _run(
            f"""
            import sys
            from arbitrade.persistence import DuckDBWriter, read_messages, mapping_for
            from arbitrade.persistence._buffer import RowBuffer
            from tests.persistence.samples import samples
            buffer = RowBuffer(wall_clock=lambda: 1.0)
            for message in samples():
                buffer.add(message, now=0.0)
            writer = DuckDBWriter({str(tmp_path / "db.duckdb")!r})
            writer.open()
            writer.write(buffer.take("test", 1))
            for message in samples():
                mapping = mapping_for(type(message))
                assert read_messages(writer.connection, mapping.message_type)
            writer.close()
            print("pandas" in sys.modules)
            """
        )
        assert out == "False"

    def test_to_pandas_when_pyarrow_settled_without_pandas_still_loads_it(self) -> None:
        """pyarrow imports pandas on demand afterwards; pandas objects convert both ways."""
        out = _run(
            """
            import sys
            import pyarrow as pa
            import arbitrade.persistence
            assert "pandas" not in sys.modules
            frame = pa.table({"a": pa.array([1, 2], pa.int64())}).to_pandas()
            back = pa.Table.from_pandas(frame)
            print(type(frame).__name__, back.num_rows, pa.array(frame["a"]).type)
            """
        )
        assert out == "DataFrame 2 int64"


class TestHidePandasFromThread:
    def test_find_spec_when_on_another_thread_stays_out_of_the_way(self) -> None:
        """Only the thread that settles pyarrow is refused pandas; other threads import it."""
        finder = _HidePandasFromThread(threading.get_ident() + 1)
        assert finder.find_spec("pandas", None) is None

    def test_find_spec_when_on_its_thread_refuses_pandas_and_its_submodules(self) -> None:
        """pandas and pandas.* are not found on the settling thread; other names are left alone."""
        finder = _HidePandasFromThread(threading.get_ident())
        for name in ("pandas", "pandas.core"):
            with pytest.raises(ModuleNotFoundError):
                finder.find_spec(name, None)
        assert finder.find_spec("pandasx", None) is None
