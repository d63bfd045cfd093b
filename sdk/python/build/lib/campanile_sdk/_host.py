"""Which host the SDK's functions talk to: campanile itself inside the component, or the fake
host of `campanile_sdk.testing` everywhere else (so plugins are tested with plain pytest)."""

from __future__ import annotations

import sys
from typing import Protocol

__all__ = ["Backend", "backend", "IN_COMPONENT"]

IN_COMPONENT = sys.platform == "wasi"
"""Whether this code runs inside a WebAssembly component (componentize-py's CPython)."""


class Backend(Protocol):
    """The host functions of `wit/router.wit` (`interface host`)."""

    def log(self, level: str, message: str) -> None: ...
    def config_get(self, key: str) -> str | None: ...
    def config_keys(self) -> list[str]: ...
    def now_ms(self) -> int: ...
    def state_get(self, key: str) -> str | None: ...
    def state_set(self, key: str, value: str, ttl_seconds: int | None) -> str | None:
        """Stores the value; returns the host's reason when it refused to."""
        ...

    def state_delete(self, key: str) -> None: ...


_current: Backend | None = None


def backend() -> Backend:
    """The host in use, chosen on first use."""
    global _current
    if _current is None:
        if IN_COMPONENT:
            from ._wit import WitHost

            _current = WitHost()
        else:
            from .testing import _fake_host

            _current = _fake_host()
    return _current
