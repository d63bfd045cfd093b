"""`@router` and `@identity`: mark the functions the component exports.

The decorators return the function unchanged, so a test calls it directly with a group built by
`campanile_sdk.testing`; inside the component the SDK calls it for every group that is due.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar, Union

from .actions import Action, Notify, Suppress, WakeAfter
from .labels import Labels
from .model import Group

__all__ = ["RouteError", "router", "identity", "decide", "identify"]

RouteResult = Union[Action, Iterable[Action]]
RouteFn = Callable[[Group], RouteResult]
IdentityFn = Callable[[Labels], Union[Mapping[str, str], None]]
R = TypeVar("R", bound=RouteFn)
I = TypeVar("I", bound=IdentityFn)  # noqa: E741


class RouteError(Exception):
    """Raise it (or any exception) from a router to answer with an error: the host logs the
    message and notifies the route's own receiver instead."""


_route: RouteFn | None = None
_identity: IdentityFn | None = None


def router(fn: R) -> R:
    """Marks `fn(group) -> actions` as the plugin's router: the function campanile calls for
    every group that is due. It returns one action or a list of them (`notify`, `suppress`,
    `wake_after`); an empty list is a fault (the route's receiver is told), so to tell nobody,
    return `suppress(reason)`.

    >>> from campanile_sdk import Group, notify, router
    >>> @router
    ... def route(group: Group):
    ...     return notify(group.receiver)

    The host reuses an instance for many calls and replaces it from time to time, so module
    globals may or may not survive from one call to the next: keep what must outlive a call in
    `campanile_sdk.state`.
    """
    global _route
    _route = fn
    return fn


def identity(fn: I) -> I:
    """Marks `fn(labels) -> labels or None` as the plugin's identity function: the labels that
    make two alerts the same alert, for deduplication (None keeps all labels). campanile calls
    it only for the plugin its configuration names as `ingest.identity_plugin`.

    >>> from campanile_sdk import Labels, identity
    >>> @identity
    ... def without_replica(labels: Labels):
    ...     return labels.filtered(lambda name, _: name != "replica")
    """
    global _identity
    _identity = fn
    return fn


def decide(group: Group) -> list[Action]:
    """Calls the registered router and checks its answer: a list of actions."""
    if _route is None:
        raise RouteError("no function is marked @router")
    answer = _route(group)
    actions = [answer] if isinstance(answer, (Notify, Suppress, WakeAfter)) else list(answer)
    for action in actions:
        if not isinstance(action, (Notify, Suppress, WakeAfter)):
            raise RouteError(f"the router answered {action!r}, which is not an action")
    return actions


def identify(labels: Labels) -> Labels | None:
    """Calls the registered identity function, if any."""
    if _identity is None:
        return None
    kept = _identity(labels)
    if kept is None or isinstance(kept, Labels):
        return kept
    return Labels(kept)
