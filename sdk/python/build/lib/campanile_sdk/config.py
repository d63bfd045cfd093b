"""The plugin's own `config` table from the host configuration.

```toml
[[plugins]]
name = "my-router"
path = "my_router.wasm"
[plugins.config]
pager = "oncall-pager"
```

Strings are returned as they are; other TOML values in their TOML form (`"42"`, `"true"`).

>>> from campanile_sdk import config, testing
>>> testing.set_config({"pager": "oncall-pager"})
>>> config.get("pager"), config.get("chat"), config.get_or("chat", "fallback")
('oncall-pager', None, 'fallback')
"""

from __future__ import annotations

from ._host import backend

__all__ = ["get", "get_or", "keys"]


def get(key: str) -> str | None:
    """The value of `key` in the plugin's config table, or None if it is not set."""
    return backend().config_get(key)


def get_or(key: str, default: str) -> str:
    """The value of `key`, or `default` if it is not set."""
    value = get(key)
    return default if value is None else value


def keys() -> list[str]:
    """The keys of the plugin's config table, sorted."""
    return backend().config_keys()
