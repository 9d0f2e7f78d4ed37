"""Generic hypothesis strategies for fuzzing decoders of untrusted input.

The idea throughout: start from a *valid* example of what a decoder reads (a Kraken frame, a
REST envelope, a settings table) and break it in one or a few places (a key dropped, a value
of the wrong type, an extra key, a huge number, deep nesting), or replace it with garbage
(bytes that are not UTF-8, truncated JSON). Frames are serialised with the standard library's
``json`` so that numbers orjson could not write (integers beyond 64 bits, NaN, Infinity) still
reach the decoder under test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

# -- leaves -----------------------------------------------------------------------------------

LONG_NUMBER = "__long_number__"
"""A placeholder :func:`dumps` writes as a bare 5000-digit JSON number: Python's ``json``
cannot write (nor ``int()`` read) one past its 4300-digit conversion limit."""

HUGE_INTEGERS = st.sampled_from(
    [2**63, 2**64, 2**64 - 1, -(2**63) - 1, 10**30, -(10**30), LONG_NUMBER]
) | st.just(400).map(lambda digits: 10**digits)
"""Integers beyond 64 bits, and one beyond Python's 4300-digit str/int conversion limit."""

ODD_FLOATS = st.sampled_from(
    [0.0, -0.0, 5e-324, 1e-300, 1e300, 1.7976931348623157e308, float("nan"), float("inf"),
     -float("inf"), 0.1, 1e15, 123456789.123456789]
)  # fmt: skip

ODD_STRINGS = st.sampled_from(
    ["", " ", "0", "-1", "1e999999999", "-1e999999999", "1e-999999999", "1e999990", "NaN",
     "Infinity", "-inf", "sNaN", "0x10", "1_000", "²", "٣", "--5", "\x00", "BTC/USD",
     "true", "null", "[]", "{}", "\u202e", "😀", "ESession:Invalid session"]
) | st.just(5000).map(lambda digits: "1" * digits)  # fmt: skip

SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    HUGE_INTEGERS,
    st.floats(),
    ODD_FLOATS,
    st.text(max_size=12),
    ODD_STRINGS,
)
"""Every kind of JSON leaf, with the edge cases decoders stumble on."""


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-shaped values: scalars, lists and objects, a few levels deep."""
    return st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


DEEP_DEPTHS = (200, 1100, 5000)


def deeply_nested() -> st.SearchStrategy[str]:
    """A placeholder :func:`dumps` writes as a list or object nested hundreds to thousands deep.

    A placeholder, not the value itself, so documents stay cheap to copy and edit.
    """
    return st.sampled_from([f"__deep_{kind}_{depth}__" for kind in "lo" for depth in DEEP_DEPTHS])


WRONG_VALUES: st.SearchStrategy[Any] = st.one_of(
    SCALARS,
    st.just([]),
    st.just({}),
    st.lists(SCALARS, min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=5), SCALARS, min_size=1, max_size=2),
)
"""What a fuzzer puts where a field's proper value was."""

# -- breaking a valid document ------------------------------------------------------------------


def paths_of(document: Any, prefix: Path = ()) -> list[Path]:
    """Every key path of a JSON-shaped document, parents before children."""
    out: list[Path] = []
    if isinstance(document, dict):
        for key, value in document.items():
            out.append((*prefix, key))
            out.extend(paths_of(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out.append((*prefix, index))
            out.extend(paths_of(value, (*prefix, index)))
    return out


def look_alikes(value: Any) -> list[Any]:
    """Values of another JSON type that a careless parser takes for ``value`` (10 -> 10.0)."""
    conversions: list[Callable[[Any], Any]]
    if isinstance(value, bool):
        conversions = [int, lambda v: str(v).lower()]
    elif isinstance(value, int):
        conversions = [float, str, lambda v: v != 0, lambda v: -v, lambda v: v + 2**64]
    elif isinstance(value, float):
        conversions = [int, str, lambda v: -v, lambda v: v * 1e300, lambda v: [v]]
    elif isinstance(value, str):
        conversions = [lambda v: [v], lambda v: {"value": v}, str.upper, lambda v: v + "\x00"]
    elif isinstance(value, list):
        conversions = [lambda v: v[0] if v else None, lambda v: v * 20, lambda v: [v]]
    elif isinstance(value, dict):
        conversions = [lambda v: list(v.values()), lambda v: [v]]
    else:
        conversions = [lambda v: 0, lambda v: ""]
    out = []
    for convert in conversions:
        try:
            out.append(convert(value))
        except (ValueError, OverflowError):
            continue  # int(nan), float(10**400): no look-alike of that kind
    return out or [None]


def _edit(document: Any, path: Path, action: str, value: Any) -> Any:
    result = copy.deepcopy(document)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    leaf = path[-1]
    if action == "delete":
        del parent[leaf]
    elif action == "insert" and isinstance(parent, dict):
        parent[f"extra_{leaf}"] = value
    elif action == "insert" and isinstance(parent, list):
        parent.insert(int(leaf), value)
    elif action == "retype":
        choices = look_alikes(parent[leaf])
        parent[leaf] = choices[value % len(choices)]
    else:
        parent[leaf] = value
    return result


DELETE = object()
"""An edit value meaning "remove the key" (see :func:`every_field_edit`)."""

FIXED_WRONG_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 2**64, 1e300, float("nan"), "", "x", [], {}, [[]], "__deep_l_1100__",
)  # fmt: skip


def every_field_edit(document: Any) -> list[tuple[Path, Any, Any]]:
    """Each field of ``document`` removed, retyped and replaced: ``(path, value, edited)``.

    Deterministic and exhaustive where random draws would be thin: every look-alike of every
    field (``10`` as ``10.0``, ``"10"``, ``true``...) plus :data:`FIXED_WRONG_VALUES`.
    """
    out: list[tuple[Path, Any, Any]] = []
    for path in paths_of(document):
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        values = [DELETE, *look_alikes(parent[path[-1]]), *FIXED_WRONG_VALUES]
        for value in values:
            if value is DELETE:
                out.append((path, value, _edit(document, path, "delete", None)))
            else:
                out.append((path, value, _edit(document, path, "replace", value)))
    return out


@st.composite
def broken(draw: Callable[..., Any], document: Any, max_edits: int = 3) -> Any:
    """``document`` with one to ``max_edits`` keys deleted, replaced, retyped or added beside.

    "Retyped" puts a look-alike of another type in the value's place (:func:`look_alikes`):
    the inputs a lenient parser accepts and then chokes on later.
    """
    result = document
    for _ in range(draw(st.integers(1, max_edits))):
        paths = paths_of(result)
        if not paths:
            return draw(WRONG_VALUES)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "retype", "retype", "delete", "insert"]))
        if action == "retype":
            value = draw(st.integers(0, 4))
        elif action == "delete":
            value = None
        else:
            value = draw(st.one_of(WRONG_VALUES, deeply_nested()))
        result = _edit(result, path, action, value)
    return result


def dumps(value: Any) -> str:
    """JSON text with the standard library (big integers, NaN and Infinity pass through).

    Placeholders become what Python's ``json`` cannot write: :data:`LONG_NUMBER` a bare
    5000-digit number, :func:`deeply_nested` markers their deep nesting.
    """
    text = json.dumps(value).replace(f'"{LONG_NUMBER}"', "9" * 5000)
    for depth in DEEP_DEPTHS:
        text = text.replace(f'"__deep_l_{depth}__"', "[" * depth + "1" + "]" * depth)
        text = text.replace(f'"__deep_o_{depth}__"', '{"a":' * depth + "1" + "}" * depth)
    return text


@st.composite
def wire_forms(draw: Callable[..., Any], document: Any) -> str | bytes:
    """How a document may arrive: intact, truncated, as non-UTF-8 bytes, or with junk around."""
    text = dumps(document)
    form = draw(st.sampled_from(["text", "bytes", "truncated", "latin1", "junk", "bom"]))
    if form == "text":
        return text
    if form == "bytes":
        return text.encode()
    if form == "truncated":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if form == "latin1":
        return text.encode("utf-8") + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]))
    if form == "junk":
        return draw(st.binary(max_size=8)) + text.encode() + draw(st.binary(max_size=8))
    return b"\xef\xbb\xbf" + text.encode()


def garbage() -> st.SearchStrategy[str | bytes]:
    """Frames that were never a valid document: random bytes and text, lone JSON scalars."""
    return st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64),
        st.sampled_from(
            [
                b"",
                b"\x00",
                b"\x00\x01<html>502 Bad Gateway</html>\xff",
                b"{",
                b"[",
                b'{"',
                b"null",
                b"NaN",
                b"Infinity",
                b"-",
                b"1e999999",
                "\ud800".encode("utf-8", "surrogatepass"),
            ]
        ),
        json_values().map(dumps),
    )


def mutated(document: Any) -> st.SearchStrategy[str | bytes]:
    """``document`` broken in a few places, then put on the wire in one of its forms."""
    return broken(document).flatmap(wire_forms)


def fuzzed(document: Any) -> st.SearchStrategy[str | bytes]:
    """The full menu for one valid document: intact, broken, or plain garbage."""
    return st.one_of(wire_forms(document), mutated(document), garbage())
