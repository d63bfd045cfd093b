"""`Labels`: a read-only mapping over the contract's packed label sets.

The host hands every label set over as one string and a list of byte offsets (`wit/router.wit`,
`label-set`). `Labels` keeps that form and decodes it the first time it is read, so a group
whose annotations the plugin never looks at costs nothing to receive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

__all__ = ["Labels"]

_T = TypeVar("_T")
# What `get` answers for a name that is not there, where None could be a default.
_MISSING: object = object()


class Labels(Mapping[str, str]):
    """A set of labels or annotations: unique names, sorted by name, each with a value.

    Read it like a dict; build one from pairs or a dict:

    >>> labels = Labels({"severity": "critical", "alertname": "Down"})
    >>> labels["severity"]
    'critical'
    >>> labels.get("team", "none")
    'none'
    >>> list(labels)
    ['alertname', 'severity']
    >>> str(labels)
    '{alertname="Down", severity="critical"}'
    """

    __slots__ = ("_text", "_ends", "_dict")

    def __init__(self, pairs: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        # A later duplicate name wins, as in the Rust SDK's `LabelSet::from_pairs`.
        merged: dict[str, str] = {}
        for name, value in items:
            merged[str(name)] = str(value)
        ordered = sorted(merged.items(), key=lambda item: item[0].encode())
        self._dict: dict[str, str] | None = dict(ordered)
        self._text, self._ends = _pack(ordered)

    @classmethod
    def packed(cls, text: str, ends: list[int]) -> Labels:
        """The label set the host sent as `text` and `ends` (see `wit/router.wit`).

        >>> Labels.packed("alertnameDownteamdb", [9, 13, 17, 19])["team"]
        'db'
        """
        labels = cls.__new__(cls)
        labels._text, labels._ends, labels._dict = text, ends, None
        return labels

    @property
    def text(self) -> str:
        """Every name and value back to back, as the contract packs them."""
        return self._text

    @property
    def ends(self) -> list[int]:
        """The byte offset in `text` where each name and each value ends."""
        return self._ends

    def _decoded(self) -> dict[str, str]:
        if self._dict is None:
            self._dict = dict(_unpack(self._text, self._ends))
        return self._dict

    def get(self, name: str, default: _T | None = None) -> str | _T | None:  # type: ignore[override]
        """The value of label `name`, or `default`. Read where it lies in the packed text,
        without decoding the set: a plugin reading one label of each alert, as most do,
        decodes nothing else (inside the component CPython interprets every step)."""
        if self._dict is not None:
            return self._dict.get(name, default)
        text, ends = self._text, self._ends
        count = len(ends) - (len(ends) & 1)
        # UTF-8 offsets equal indices only when every character is ASCII; else decode.
        if count == 0 or ends[count - 1] != len(text):
            return self._decoded().get(name, default)
        size = len(name)
        start = 0
        for i in range(0, count, 2):
            name_end = ends[i]
            value_end = ends[i + 1]
            if not start <= name_end <= value_end <= len(text):
                return default
            if name_end - start == size and text.startswith(name, start):
                return text[name_end:value_end]
            start = value_end
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._ends) // 2

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name, _MISSING) is not _MISSING

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._text == other._text and self._ends == other._ends
        if isinstance(other, Mapping):
            return self._decoded() == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._text, tuple(self._ends)))

    def __repr__(self) -> str:
        return f"Labels({self._decoded()!r})"

    def __str__(self) -> str:
        """As Prometheus prints a label set: `{alertname="Down", team="db"}`."""
        inner = ", ".join(f'{name}="{value}"' for name, value in self._decoded().items())
        return "{" + inner + "}"

    def filtered(self, keep: Callable[[str, str], bool]) -> Labels:
        """The set without the labels for which `keep(name, value)` is false.

        >>> Labels({"alertname": "Down", "replica": "a"}).filtered(lambda n, v: n != "replica")
        Labels({'alertname': 'Down'})
        """
        return Labels((n, v) for n, v in self._decoded().items() if keep(n, v))

    def with_label(self, name: str, value: str) -> Labels:
        """A copy with the label `name` set to `value`.

        >>> Labels({"a": "1"}).with_label("b", "2")
        Labels({'a': '1', 'b': '2'})
        """
        return Labels([*self._decoded().items(), (name, value)])


def _pack(ordered: list[tuple[str, str]]) -> tuple[str, list[int]]:
    """The contract's packed form of sorted, unique pairs; offsets count UTF-8 bytes."""
    parts: list[str] = []
    ends: list[int] = []
    offset = 0
    for name, value in ordered:
        for part in (name, value):
            parts.append(part)
            offset += len(part.encode())
            ends.append(offset)
    return "".join(parts), ends


def _unpack(text: str, ends: list[int]) -> Iterator[tuple[str, str]]:
    """The pairs of a packed set. A malformed set (which the host never sends) stops at the
    first entry that does not fit the text, as the Rust SDK's iterator does."""
    if text.isascii():
        data: str | bytes = text
    else:
        data = text.encode()
    size = len(data)
    start = 0
    for i in range(0, len(ends) - 1, 2):
        name_end, value_end = ends[i], ends[i + 1]
        if not start <= name_end <= value_end <= size:
            return
        name, value = data[start:name_end], data[name_end:value_end]
        if isinstance(name, bytes) and isinstance(value, bytes):
            try:
                yield name.decode(), value.decode()
            except UnicodeDecodeError:
                return
        else:
            yield str(name), str(value)
        start = value_end
