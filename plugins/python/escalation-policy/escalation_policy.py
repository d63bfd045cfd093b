"""`escalation-policy` in Python: escalates until someone acknowledges, exactly as the Rust
example (`plugins/escalation-policy`, whose README has the whole policy) does.

A firing group is told to `chat` at once; unacknowledged, `primary` is paged `page_after` after
the first notification and `secondary` `secondary_after` after it. Outside business hours chat
is skipped: `primary` is paged at once. An acknowledgement stops the escalation; when the group
resolves, everyone who was told hears so. The timers are the host's `wake_after`.

Config keys: `chat` (default: the route's receiver), `primary` (required), `secondary`,
`page_after` (`15m`), `secondary_after` (`30m`), `business_hours` (`HH:MM-HH:MM`, local),
`business_days` (`mon-fri`), `utc_offset` (`+00:00`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from campanile_sdk import (
    Action,
    Group,
    NotifyReason,
    RouteError,
    config,
    notify,
    now_ms,
    router,
    suppress,
    wake_after,
)

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass
class Step:
    """A receiver and how long after the first notification it is told."""

    receiver: str
    after_ms: int


@dataclass
class Policy:
    chat: str
    primary: str
    secondary: str | None
    page_after_ms: int
    secondary_after_ms: int
    hours: tuple[int, int] | None
    days: list[bool]
    offset_minutes: int

    @staticmethod
    def from_config(group: Group) -> Policy:
        primary = config.get("primary")
        if primary is None:
            raise RouteError("config key `primary` is not set")

        def parsed(key: str, parse, default):  # type: ignore[no-untyped-def]
            value = config.get(key)
            if value is None:
                return default
            result = parse(value)
            if result is None:
                raise RouteError(f"`{key}`: bad value {value!r}")
            return result

        return Policy(
            chat=config.get_or("chat", group.receiver),
            primary=primary,
            secondary=config.get("secondary"),
            page_after_ms=parsed("page_after", parse_duration_ms, 15 * 60_000),
            secondary_after_ms=parsed("secondary_after", parse_duration_ms, 30 * 60_000),
            hours=parsed("business_hours", parse_hours, None),
            days=parsed("business_days", parse_days, parse_days("mon-fri")),
            offset_minutes=parsed("utc_offset", parse_offset, 0),
        )

    def business_hours(self, at_ms: int) -> bool:
        if self.hours is None:
            return True
        local_min = at_ms // 60_000 + self.offset_minutes
        minute_of_day = local_min % (24 * 60)
        # 1970-01-01 was a Thursday: day 0 is index 3 (Monday = 0).
        weekday = (local_min // (24 * 60) + 3) % 7
        start, end = self.hours
        return self.days[weekday] and start <= minute_of_day < end

    def steps(self, business_hours: bool) -> list[Step]:
        steps = []
        page_after = 0
        if business_hours:
            steps.append(Step(self.chat, 0))
            page_after = self.page_after_ms
        steps.append(Step(self.primary, page_after))
        if self.secondary is not None:
            steps.append(Step(self.secondary, max(self.secondary_after_ms, page_after)))
        return steps


@router
def route(group: Group) -> list[Action]:
    policy = Policy.from_config(group)
    now = now_ms()
    started = group.first_sent_at if group.first_sent_at is not None else now
    steps = policy.steps(policy.business_hours(started))

    if group.reason is NotifyReason.ALL_RESOLVED:
        # Everyone who was told hears that it is over.
        told = list(dict.fromkeys(s.receiver for s in group.sent)) or [steps[0].receiver]
        return [notify(receiver) for receiver in told]

    elapsed = now - started
    due = [s for s in steps if s.after_ms <= elapsed]
    if group.is_acknowledged:
        # Someone has it: keep those already involved informed; escalate no further.
        targets = [s for s in due if group.was_sent_to(s.receiver) or s.after_ms == 0]
    elif group.reason is NotifyReason.WAKE:
        targets = [s for s in due if not group.was_sent_to(s.receiver)]
    else:
        targets = due

    actions: list[Action] = [notify(s.receiver) for s in targets]
    if not actions:
        actions.append(suppress("escalation: nobody new is due yet"))
    if not group.is_acknowledged:
        upcoming = [s for s in steps if s.after_ms > elapsed]
        if upcoming:
            # Whole seconds, rounded up, so the next step is due when the wake-up comes.
            actions.append(wake_after(math.ceil((upcoming[0].after_ms - elapsed) / 1000)))
    return actions


def parse_duration_ms(value: str) -> int | None:
    """`90s`, `15m`, `2h`, `1d` or plain seconds, in milliseconds."""
    value = value.strip()
    digits = len(value) - len(value.lstrip("0123456789"))
    number, unit = value[:digits], value[digits:] or "s"
    if not number or unit not in UNIT_MS:
        return None
    return int(number) * UNIT_MS[unit]


def parse_hours(value: str) -> tuple[int, int] | None:
    """`HH:MM-HH:MM` as minutes of the day, start inclusive, end exclusive."""

    def minutes(text: str) -> int | None:
        hours, sep, mins = text.strip().partition(":")
        if not sep or not hours.isdigit() or not mins.isdigit():
            return None
        h, m = int(hours), int(mins)
        return h * 60 + m if h <= 24 and m < 60 and h * 60 + m <= 24 * 60 else None

    start_text, sep, end_text = value.strip().partition("-")
    start, end = minutes(start_text), minutes(end_text)
    if not sep or start is None or end is None or start >= end:
        return None
    return start, end


def parse_days(value: str) -> list[bool] | None:
    """`mon-fri`, `sat,sun`, `mon,wed-fri`: which weekdays (Monday first) are business days."""

    def index(day: str) -> int | None:
        day = day.strip().lower()
        return DAYS.index(day) if day in DAYS else None

    days = [False] * 7
    for part in value.split(","):
        first, sep, last = part.partition("-")
        a = index(first)
        b = index(last) if sep else a
        if a is None or b is None or a > b:
            return None
        for i in range(a, b + 1):
            days[i] = True
    return days


def parse_offset(value: str) -> int | None:
    """`+01:00`, `-05:30`, `Z`: minutes east of UTC."""
    value = value.strip()
    if value.lower() == "z":
        return 0
    if not value or value[0] not in "+-":
        return None
    hours, sep, mins = value[1:].partition(":")
    if not sep or not hours.isdigit() or not mins.isdigit():
        return None
    h, m = int(hours), int(mins)
    if h > 14 or m >= 60:
        return None
    return (1 if value[0] == "+" else -1) * (h * 60 + m)
