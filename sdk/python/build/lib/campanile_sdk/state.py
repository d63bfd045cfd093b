"""The plugin's own durable key/value state, kept by the host.

State is per plugin, survives host restarts and is shared by every group the plugin routes, so
key it by what it describes (the group key, say). Values are strings. The host limits each key
plus value to 64 KiB and one plugin's state to 1 MiB; `set` raises `StateError` past those.

>>> from campanile_sdk import state
>>> state.set("pages-today", "3")
>>> state.get("pages-today")
'3'
>>> state.delete("pages-today")
>>> state.get("pages-today") is None
True
"""

from __future__ import annotations

import datetime

from ._host import backend

__all__ = ["StateError", "get", "set", "delete"]


class StateError(Exception):
    """The host refused to store a value (too large, or the plugin's state is full)."""


def get(key: str) -> str | None:
    """The value stored under `key`, or None if there is none or it expired."""
    return backend().state_get(key)


def set(key: str, value: str, ttl: float | datetime.timedelta | None = None) -> None:  # noqa: A001
    """Stores `value` under `key`, replacing what was there; with `ttl` (seconds or a
    timedelta, whole seconds, at least one) it expires afterwards."""
    seconds: int | None = None
    if ttl is not None:
        raw = ttl.total_seconds() if isinstance(ttl, datetime.timedelta) else ttl
        seconds = min(max(int(raw), 1), 2**32 - 1)
    refused = backend().state_set(key, value, seconds)
    if refused is not None:
        raise StateError(refused)


def delete(key: str) -> None:
    """Removes `key`; nothing happens if it is not there."""
    backend().state_delete(key)
