"""Write campanile routing plugins in Python.

A routing plugin is a WebAssembly component that campanile calls for every alert group that is
due for a notification. With this package it is one decorated function:

>>> from campanile_sdk import Group, Severity, config, log, notify, router
>>> @router
... def route(group: Group):
...     if group.highest_severity is Severity.CRITICAL:
...         pager = config.get_or("pager", group.receiver)
...         log.info(f"paging {pager} for {group.key}")
...         return notify(pager, severity=Severity.CRITICAL)
...     return notify(group.receiver)

`campanile plugin build app.py` turns the module into `app.wasm` (with the pinned
componentize-py). Off the component the host functions (`config`, `log`, `state`, `now_ms`)
are served by the fake host of `campanile_sdk.testing`, so plugins are tested with plain pytest:

>>> from campanile_sdk import testing
>>> testing.set_config({"pager": "oncall"})
>>> route(testing.group([testing.alert({"alertname": "Down", "severity": "critical"})]))
Notify(receiver='oncall', title=None, body=None, severity=<Severity.CRITICAL: 'critical'>)
"""

from __future__ import annotations

from . import config, log, state
from ._host import backend as _backend
from .actions import Action, Notify, Suppress, WakeAfter, notify, suppress, wake_after
from .labels import Labels
from .matcher import Matcher
from .model import Acknowledgement, Alert, AlertStatus, Group, NotifyReason, Sent, Severity
from .router import RouteError, identity, router

__all__ = [
    "Acknowledgement",
    "Action",
    "Alert",
    "AlertStatus",
    "Group",
    "Labels",
    "Matcher",
    "Notify",
    "NotifyReason",
    "RouteError",
    "Sent",
    "Severity",
    "Suppress",
    "WakeAfter",
    "config",
    "identity",
    "log",
    "notify",
    "now_ms",
    "router",
    "state",
    "suppress",
    "wake_after",
]

CONTRACT = "campanile:router@0.3.0"
"""The WIT world this SDK builds components for (`wit/router.wit`)."""


def now_ms() -> int:
    """The host's clock, in ms since the Unix epoch: the only clock a plugin has.

    >>> from campanile_sdk import testing
    >>> testing.set_now_ms(1_000)
    >>> now_ms()
    1000
    """
    return _backend().now_ms()
