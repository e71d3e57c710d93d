"""Read the named fields of many payload rows into columns, one visit per row.

Payload records are large dicts scattered in memory, where touching a row costs a cache
miss or more. So each row is visited exactly once and every field wanted is taken while
the row is hot (a C-level `map` of the row's `get` over the names), then the per-row
tuples are turned into columns with one `zip`. A missing field reads as None; a field
no row holds (an extended field the program does not collect) is not read at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import attrgetter, methodcaller
from typing import Any

Row = Mapping[str, Any]
_GET = attrgetter("get")
_KEYS = methodcaller("keys")


def read_columns(rows: Sequence[Row], names: Iterable[str]) -> dict[str, list[Any]]:
    """Return, per name, every row's value of that field (None where a row lacks it)."""
    wanted = list(dict.fromkeys(names))
    held = set().union(*map(_KEYS, rows)) & set(wanted) if rows else set()
    found: dict[str, list[Any]] = {name: [None] * len(rows) for name in wanted if name not in held}
    if not held:
        return found
    own = {key: key for key in rows[0]}  # the rows' own key objects compare fastest
    place = {key: index for index, key in enumerate(own)}  # read in the rows' key order: front to back
    order = sorted(held, key=lambda n: (place.get(n, len(place)), n))
    keys = [own.get(n, n) for n in order]
    table = list(map(tuple, map(map, map(_GET, rows), repeat(keys))))
    found.update(zip(order, map(list, zip(*table, strict=True)), strict=True))
    return found
