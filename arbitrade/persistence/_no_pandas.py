"""Keep pandas out of the bot's process: pyarrow would import it (~40 MB RSS, a second or two
holding the GIL) the first time it converts Python objects, although the sink never uses it.

pyarrow's pandas shim looks for pandas once, lazily, by importing it. :func:`settle_pyarrow_
without_pandas` makes that first look happen now, on this thread, with pandas hidden from this
thread only, so the shim records "no pandas" and the sink's conversions never load it. The shim
still imports pandas when asked for it explicitly (``Table.to_pandas``, ``Table.from_pandas``
and every other call that needs pandas retries the import), so code that does want pandas keeps
working; it is loaded then, by whoever needs it. DuckDB imports pandas only for pandas objects
or when it is already loaded, so the writer does not load it either (``tests/persistence/
test_no_pandas.py`` checks both in a fresh interpreter).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Sequence

import pyarrow as pa

_HIDDEN = "pandas"


class _HidePandasFromThread(importlib.abc.MetaPathFinder):
    """A finder that makes ``import pandas`` fail on one thread and stays out of the way on
    every other thread (which may be importing pandas for its own use at that moment)."""

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        hidden = fullname == _HIDDEN or fullname.startswith(_HIDDEN + ".")
        if hidden and threading.get_ident() == self.thread_id:
            raise ModuleNotFoundError(f"{fullname} hidden from pyarrow's first look", name=fullname)
        return None


def settle_pyarrow_without_pandas() -> bool:
    """Let pyarrow decide, now and without importing it, that pandas is absent.

    Does nothing when pandas is already imported or pyarrow has already looked (then the
    decision is made and loading pandas again costs nothing). Never raises: if pyarrow changes
    how it looks, the worst case is that pandas is imported, as before.

    Returns:
        True when pandas is not imported afterwards.
    """
    if _HIDDEN not in sys.modules:
        finder = _HidePandasFromThread(threading.get_ident())
        sys.meta_path.insert(0, finder)
        try:
            # Converting a Python list asks the shim whether pandas exists (its first look).
            pa.array([], pa.null())
        finally:
            sys.meta_path.remove(finder)
    return _HIDDEN not in sys.modules
