"""The component's exports: the class componentize-py binds to the `router` world. The entry
module that `campanile plugin build` generates imports the plugin (which registers its
`@router`) and then this."""

from __future__ import annotations

import traceback

from wit_world.imports import types as t

from . import _wit
from .router import decide, identify

# Longer errors are cut by the host anyway (1 KiB).
_MAX_ERROR = 1000


def _describe(failure: Exception) -> str:
    """`ValueError: bad threshold (app.py:12)`: what went wrong and where in the plugin."""
    where = ""
    frames = traceback.extract_tb(failure.__traceback__)
    if frames:
        last = frames[-1]
        where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return f"{type(failure).__name__}: {failure}{where}"[:_MAX_ERROR]


class WitWorld:
    """`route` and `identity`, as `wit/router.wit` exports them."""

    def route(self, group: t.Group) -> list[t.Action]:
        try:
            actions = decide(_wit.group_from_wit(group))
        except Exception as failure:  # a plugin's exception is its error, not a trap
            raise _wit.error(_describe(failure)) from None
        return [_wit.action_to_wit(action) for action in actions]

    def identity(self, labels: t.LabelSet) -> t.LabelSet | None:
        kept = identify(_wit.labels_from_wit(labels))
        return None if kept is None else _wit.labels_to_wit(kept)
