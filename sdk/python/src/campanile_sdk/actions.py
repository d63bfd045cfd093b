"""What a router answers: `notify(...)`, `suppress(...)` and `wake_after(...)`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Union

from .model import Severity

__all__ = ["Action", "Notify", "Suppress", "WakeAfter", "notify", "suppress", "wake_after"]

# The longest wake-up the contract carries (a u32 of seconds); the host holds it to 30 days.
_MAX_SECONDS = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell one receiver about the group; build it with `notify(...)`."""

    receiver: str
    """A receiver name from the host's configuration."""
    title: str | None = None
    """Replaces the receiver's default title (subject, summary, headline)."""
    body: str | None = None
    """Replaces the receiver's default body."""
    severity: Severity | None = None
    """Replaces the severity the receiver would derive from the alerts."""


@dataclass(frozen=True, slots=True)
class Suppress:
    """Deliberately tell nobody; the host logs the reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class WakeAfter:
    """Route the group again, with reason WAKE, after this many seconds."""

    seconds: int


Action = Union[Notify, Suppress, WakeAfter]
"""One decision of a router: `Notify`, `Suppress` or `WakeAfter`."""


def notify(
    receiver: str,
    *,
    title: str | None = None,
    body: str | None = None,
    severity: Severity | None = None,
) -> Notify:
    """Tell `receiver` (a receiver of the host's configuration) about the group, optionally
    replacing its title, body and severity.

    >>> notify("oncall", title="Database down", severity=Severity.CRITICAL)
    Notify(receiver='oncall', title='Database down', body=None, severity=<Severity.CRITICAL: 'critical'>)
    """
    return Notify(receiver, title, body, severity)


def suppress(reason: str) -> Suppress:
    """Deliberately tell nobody about the group; the host logs `reason`.

    >>> suppress("maintenance window")
    Suppress(reason='maintenance window')
    """
    return Suppress(reason)


def wake_after(delay: float | datetime.timedelta) -> WakeAfter:
    """Ask the host to route the group again after `delay` (seconds or a timedelta; whole
    seconds, at least 1) with reason WAKE, unless by then it stopped firing or is acknowledged.
    Each decision replaces the previous wake-up; one without `wake_after` cancels it.

    >>> wake_after(900), wake_after(datetime.timedelta(minutes=1)), wake_after(0.01)
    (WakeAfter(seconds=900), WakeAfter(seconds=60), WakeAfter(seconds=1))
    """
    seconds = delay.total_seconds() if isinstance(delay, datetime.timedelta) else delay
    return WakeAfter(min(max(int(seconds), 1), _MAX_SECONDS))
