"""Label matchers, like Alertmanager's `name="value"`, without regular expressions.

The same semantics as the Rust SDK's `Matcher`; both are checked against one table of cases,
`sdk/matcher-cases.json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .model import Alert

__all__ = ["Matcher"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A condition on one label. As in Alertmanager, a label the alert does not have counts as
    the empty string: `Matcher.eq("team", "")` matches alerts *without* a `team` label.

    >>> from campanile_sdk import testing
    >>> alert = testing.alert({"alertname": "Down", "env": "prod"})
    >>> Matcher.eq("env", "prod").matches(alert), Matcher.neq("env", "prod").matches(alert)
    (True, False)
    >>> Matcher.one_of("env", ["prod", "staging"]).matches(alert.labels)
    True
    >>> Matcher.eq("team", "").matches(alert)
    True
    """

    name: str
    op: str
    values: tuple[str, ...]

    @staticmethod
    def eq(name: str, value: str) -> Matcher:
        """Matches when the label `name` equals `value`."""
        return Matcher(name, "=", (value,))

    @staticmethod
    def neq(name: str, value: str) -> Matcher:
        """Matches when the label `name` differs from `value`."""
        return Matcher(name, "!=", (value,))

    @staticmethod
    def one_of(name: str, values: Iterable[str]) -> Matcher:
        """Matches when the label `name` equals one of `values`."""
        return Matcher(name, "in", tuple(values))

    def matches(self, target: Alert | Mapping[str, str]) -> bool:
        """Whether an alert (its labels) or a label set (a group's `common_labels`, say)
        satisfies the matcher."""
        labels = target.labels if isinstance(target, Alert) else target
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.values[0]
        if self.op == "!=":
            return value != self.values[0]
        return value in self.values
