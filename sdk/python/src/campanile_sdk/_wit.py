"""The edge between the SDK's types and the bindings componentize-py generates for
`wit/router.wit`. Imported only inside the component, where the bindings exist."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world.imports import host as wit_host
from wit_world.imports import types as t

from .actions import Action, Notify, Suppress
from .labels import Labels
from .model import (
    Acknowledgement,
    Alert,
    AlertStatus,
    Group,
    NotifyReason,
    Sent,
    Severity,
)

# Compared by identity, not looked up: an enum member's hash is a Python function.
_FIRING = t.AlertStatus.FIRING
_REASON = {getattr(t.NotifyReason, r.name): r for r in NotifyReason}
_SEVERITY = {s: getattr(t.Severity, s.name) for s in Severity}
_LEVEL = {level.name.lower(): level for level in wit_host.Level}


def labels_from_wit(packed: t.LabelSet) -> Labels:
    return Labels.packed(packed.text, packed.ends)


def labels_to_wit(labels: Labels) -> t.LabelSet:
    return t.LabelSet(labels.text, labels.ends)


def alert_from_wit(a: t.Alert) -> Alert:
    return Alert(
        a.fingerprint,
        AlertStatus.FIRING if a.status is _FIRING else AlertStatus.RESOLVED,
        Labels.packed(a.labels.text, a.labels.ends),
        Labels.packed(a.annotations.text, a.annotations.ends),
        a.starts_at,
        a.ends_at,
        a.generator_url,
    )


def group_from_wit(g: t.Group) -> Group:
    ack = g.acknowledged
    return Group(
        g.key,
        g.route,
        g.receiver,
        labels_from_wit(g.group_labels),
        labels_from_wit(g.common_labels),
        [alert_from_wit(a) for a in g.alerts],
        _REASON[g.reason],
        None if ack is None else Acknowledgement(ack.by, ack.comment, ack.at),
        [Sent(s.receiver, _REASON[s.reason], s.at) for s in g.sent],
    )


def action_to_wit(action: Action) -> t.Action:
    if isinstance(action, Notify):
        severity = None if action.severity is None else _SEVERITY[action.severity]
        return t.Action_Notify(t.Notify(action.receiver, action.title, action.body, severity))
    if isinstance(action, Suppress):
        return t.Action_Suppress(action.reason)
    return t.Action_WakeAfter(action.seconds)


class WitHost:
    """The host functions, served by campanile."""

    def log(self, level: str, message: str) -> None:
        wit_host.log(_LEVEL[level], message)

    def config_get(self, key: str) -> str | None:
        return wit_host.config_get(key)

    def config_keys(self) -> list[str]:
        return wit_host.config_keys()

    def now_ms(self) -> int:
        return wit_host.now_ms()

    def state_get(self, key: str) -> str | None:
        return wit_host.state_get(key)

    def state_set(self, key: str, value: str, ttl_seconds: int | None) -> str | None:
        try:
            wit_host.state_set(key, value, ttl_seconds)
        except Err as refused:
            return str(refused.value)
        return None

    def state_delete(self, key: str) -> None:
        wit_host.state_delete(key)


def error(message: str) -> Err[str]:
    """What the export raises to answer with `err(message)`."""
    return Err(message)
