"""Read rows for metrics in one walk each: their key signatures and every field needed.

Payload records are large dicts scattered in memory, where touching a row costs a cache
miss or more. So each row is visited exactly once: its keys become a tuple (its
*signature*, telling which fields it holds) and the values of all the fields the metrics
need are taken while the row is hot. Everything after that works on compact columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from typing import Any

Row = Mapping[str, Any]
_GET = attrgetter("get")


class _Numbering(dict[int, int]):
    """Number each distinct signature hash on first sight."""

    def __missing__(self, key: int) -> int:
        self[key] = number = len(self)
        return number


@dataclass
class Walked:
    """Rows read once: per row a signature number, per signature its keys, and columns."""

    rows: list[Row]
    numbers: list[int]
    keysets: list[frozenset[str]]
    columns: dict[str, list[Any]] = field(default_factory=dict)
    _counts: list[int] | None = field(default=None, repr=False)

    def select(self, keep: list[bool]) -> Walked:
        """Return the marked rows only."""
        columns = {name: list(compress(values, keep)) for name, values in self.columns.items()}
        return Walked(
            list(compress(self.rows, keep)), list(compress(self.numbers, keep)), self.keysets, columns
        )

    def holding(self, name: str) -> bytes:
        """Return, per row, whether it holds the field at all (a mask: one 0/1 byte per row)."""
        held = [name in keys for keys in self.keysets]
        return bytes(map(held.__getitem__, self.numbers))

    def holding_count(self, name: str) -> int:
        """Return how many rows hold the field."""
        if self._counts is None:
            counts = Counter(self.numbers)
            self._counts = [counts[n] for n in range(len(self.keysets))]
        return sum(n for n, keys in zip(self._counts, self.keysets, strict=True) if name in keys)


def walk(rows: Iterable[Row], names: Iterable[str]) -> Walked:
    """Visit every row: its key signature, then the values of the named fields some row holds."""
    given = list(rows)
    keys = list(map(tuple, given))
    hashes = list(map(hash, keys))
    numbering = _Numbering()
    numbers = list(map(numbering.__getitem__, hashes))
    examples = dict(zip(hashes, keys, strict=True))
    keysets = [frozenset(examples[h]) for h in numbering]  # a 64-bit hash collision is not a concern
    held = set().union(*keysets)
    own = {key: key for key in given[0]} if given else {}  # the rows' own key objects compare fastest
    place = {key: index for index, key in enumerate(own)}  # read in the rows' key order: front to back
    wanted = sorted(set(names) & held, key=lambda n: (place.get(n, len(place)), n))
    table = list(map(tuple, map(map, map(_GET, given), repeat([own.get(n, n) for n in wanted]))))
    columns = {name: list(map(itemgetter(i), table)) for i, name in enumerate(wanted)}
    columns.update((name, [None] * len(given)) for name in set(names) - held)
    return Walked(given, numbers, keysets, columns)
