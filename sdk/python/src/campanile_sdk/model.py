"""The contract's data types as plain Python: `Group`, `Alert`, `Severity` and their kin.

These mirror `wit/router.wit` (and the Rust SDK's types of the same names); the generated
bindings are converted to and from them at the edge (`campanile_sdk._wit`), so a plugin and
its tests never see the bindings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from .labels import Labels

__all__ = [
    "Acknowledgement",
    "Alert",
    "AlertStatus",
    "Group",
    "NotifyReason",
    "Sent",
    "Severity",
]


class AlertStatus(enum.Enum):
    """Whether an alert is still firing when its group is routed."""

    FIRING = "firing"
    RESOLVED = "resolved"


class NotifyReason(enum.Enum):
    """Why a group is routed now."""

    FIRST = "first"
    """The group has never been notified: its group_wait has passed."""
    NEW_ALERTS = "new-alerts"
    """Alerts started firing since the last notification."""
    SOME_RESOLVED = "some-resolved"
    """Some alerts resolved since the last notification; others still fire."""
    ALL_RESOLVED = "all-resolved"
    """Every alert of the group has resolved."""
    REPEAT = "repeat"
    """Nothing changed, but the route's repeat_interval has elapsed."""
    WAKE = "wake"
    """A `wake_after` the plugin asked for is due, and the group still fires unacknowledged."""


class Severity(enum.Enum):
    """How urgent a notification is; receivers map it onto their own scale.

    Severities compare by urgency, the most urgent *smallest*, as in the Rust SDK:

    >>> Severity.CRITICAL < Severity.WARNING
    True
    >>> min([Severity.INFO, Severity.ERROR])
    <Severity.ERROR: 'error'>
    """

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @staticmethod
    def from_label(value: str) -> Severity | None:
        """Reads a `severity` label value, ignoring case and surrounding spaces: `critical` and
        `page` are CRITICAL, `warning` and `warn` WARNING, `error` and `info` what they say;
        anything else is None. The host reads labels by the same rule.

        >>> Severity.from_label(" Page ")
        <Severity.CRITICAL: 'critical'>
        >>> Severity.from_label("debug") is None
        True
        """
        return _SEVERITY_NAMES.get(value.strip().lower())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return _RANK[self] < _RANK[other]


_SEVERITY_NAMES = {
    "critical": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "info": Severity.INFO,
}
_RANK = {severity: rank for rank, severity in enumerate(Severity)}
# A label's value (stripped, lower case) to its severity's rank and the severity.
_RANKED_NAMES = {name: (_RANK[severity], severity) for name, severity in _SEVERITY_NAMES.items()}


@dataclass(slots=True)
class Alert:
    """One alert of a group, as deduplicated by the host.

    >>> from campanile_sdk import testing
    >>> alert = testing.alert({"alertname": "DiskFull", "severity": "warning"})
    >>> alert.labels["alertname"], alert.name, alert.severity
    ('DiskFull', 'DiskFull', <Severity.WARNING: 'warning'>)
    """

    fingerprint: int
    """The Alertmanager fingerprint of the label set."""
    status: AlertStatus
    labels: Labels
    """Identifying labels."""
    annotations: Labels
    """Informational annotations (summary, description, runbook_url, ...)."""
    starts_at: int
    """When the alert started, in ms since the Unix epoch."""
    ends_at: int | None = None
    """When it ended or will be considered ended (ms); None while firing without an end."""
    generator_url: str = ""

    @property
    def name(self) -> str | None:
        """The alert's `alertname` label, if it has one."""
        return self.labels.get("alertname")

    @property
    def is_firing(self) -> bool:
        """Whether the alert still fires."""
        return self.status is AlertStatus.FIRING

    @property
    def severity(self) -> Severity | None:
        """The severity its `severity` label names (see `Severity.from_label`), if any."""
        value = self.labels.get("severity")
        return None if value is None else Severity.from_label(value)


@dataclass(slots=True)
class Acknowledgement:
    """An operator's acknowledgement of a group: who, their comment, when (ms)."""

    by: str
    comment: str
    at: int


@dataclass(slots=True)
class Sent:
    """One notification the group was sent before: receiver, reason, when (ms)."""

    receiver: str
    reason: NotifyReason
    at: int


@dataclass(slots=True)
class Group:
    """An aggregation group that is due for a notification: what a router decides about.

    >>> from campanile_sdk import testing
    >>> group = testing.group([
    ...     testing.alert({"alertname": "Down", "severity": "warning"}),
    ...     testing.resolved_alert({"alertname": "Down", "severity": "critical"}),
    ... ])
    >>> group.receiver, len(group.firing), group.highest_severity
    ('default', 1, <Severity.WARNING: 'warning'>)
    """

    key: str
    """Stable identity of the group, as in Alertmanager's webhook `groupKey`."""
    route: str
    """The name of the route the group belongs to."""
    receiver: str
    """The route's receiver: the fallback if the plugin faults."""
    group_labels: Labels
    """The labels the route groups by, with their values."""
    common_labels: Labels
    """Labels every alert of the group has with the same value."""
    alerts: list[Alert]
    """Firing alerts first, then resolved; each by start time."""
    reason: NotifyReason = NotifyReason.FIRST
    acknowledged: Acknowledgement | None = None
    """The acknowledgement in force, if an operator acknowledged the group."""
    sent: list[Sent] = field(default_factory=list)
    """What earlier decisions sent, oldest first (the last 64)."""

    @property
    def labels(self) -> Labels:
        """The group labels (`group_labels`)."""
        return self.group_labels

    @property
    def firing(self) -> list[Alert]:
        """The alerts that still fire."""
        return [alert for alert in self.alerts if alert.is_firing]

    @property
    def resolved(self) -> list[Alert]:
        """The alerts that have resolved."""
        return [alert for alert in self.alerts if not alert.is_firing]

    @property
    def is_acknowledged(self) -> bool:
        """Whether an operator has acknowledged the group."""
        return self.acknowledged is not None

    @property
    def highest_severity(self) -> Severity | None:
        """The most urgent severity among the firing alerts' `severity` labels, or among all
        alerts' when none fires any more; None if none of them names a known severity."""
        # Plain loops and string keys: inside the component CPython interprets every step,
        # and an enum member's hash and comparison are Python functions.
        firing = [alert for alert in self.alerts if alert.status is AlertStatus.FIRING]
        best: Severity | None = None
        best_rank = len(_RANK)
        for alert in firing or self.alerts:
            value = alert.labels.get("severity")
            if value is None:
                continue
            ranked = _RANKED_NAMES.get(value.strip().lower())
            if ranked is not None and ranked[0] < best_rank:
                best_rank, best = ranked
        return best

    @property
    def first_sent_at(self) -> int | None:
        """When the group was first told to anyone (ms), as far as `sent` reaches."""
        return min((s.at for s in self.sent), default=None)

    def was_sent_to(self, receiver: str) -> bool:
        """Whether `receiver` was told about this group before."""
        return any(s.receiver == receiver for s in self.sent)

    def matching(self, matcher: _Matches) -> Iterator[Alert]:
        """The alerts that satisfy `matcher` (a `Matcher`)."""
        return (alert for alert in self.alerts if matcher.matches(alert))


class _Matches(Protocol):
    """What `Group.matching` needs of a matcher (`campanile_sdk.Matcher`)."""

    def matches(self, target: Alert) -> bool: ...
