"""The Rust example's unit tests (`plugins/escalation-policy/src/lib.rs`), case for case."""

import pytest

from campanile_sdk import Action, Group, NotifyReason, Notify, RouteError, Suppress, WakeAfter, testing
from escalation_policy import parse_days, parse_duration_ms, parse_hours, parse_offset, route

TUESDAY_NIGHT = testing.DEFAULT_NOW_MS  # 2023-11-14T22:13:20Z


def setup(**extra: str) -> Group:
    testing.set_config({
        "chat": "chat",
        "primary": "primary",
        "secondary": "secondary",
        "page_after": "15m",
        "secondary_after": "30m",
        **extra,
    })
    return testing.group([testing.alert({"alertname": "Down"})])


def receivers(actions: list[Action]) -> list[str]:
    return [a.receiver for a in actions if isinstance(a, Notify)]


def wake(actions: list[Action]) -> int | None:
    return next((a.seconds for a in actions if isinstance(a, WakeAfter)), None)


def test_chat_first_then_primary_then_secondary() -> None:
    group = setup()
    first = route(group)
    assert receivers(first) == ["chat"] and wake(first) == 15 * 60

    group.sent.append(testing.sent("chat", NotifyReason.FIRST, 15 * 60_000))
    group.reason = NotifyReason.WAKE
    second = route(group)
    assert receivers(second) == ["primary"] and wake(second) == 15 * 60

    group.sent.append(testing.sent("primary", NotifyReason.WAKE, 0))
    testing.set_now_ms(TUESDAY_NIGHT + 15 * 60_000)
    third = route(group)
    assert receivers(third) == ["secondary"] and wake(third) is None


def test_an_acknowledgement_stops_escalating() -> None:
    group = setup()
    group.sent.append(testing.sent("chat", NotifyReason.FIRST, 20 * 60_000))
    group.acknowledged = testing.acknowledgement("alice")
    group.reason = NotifyReason.NEW_ALERTS
    actions = route(group)
    assert receivers(actions) == ["chat"] and wake(actions) is None


def test_a_wake_before_the_next_step_tells_nobody_and_waits_on() -> None:
    group = setup()
    group.sent.append(testing.sent("chat", NotifyReason.FIRST, 14 * 60_000))
    group.reason = NotifyReason.WAKE
    actions = route(group)
    assert receivers(actions) == [] and isinstance(actions[0], Suppress)
    assert wake(actions) == 60


def test_after_hours_pages_at_once() -> None:
    actions = route(setup(business_hours="09:00-17:00"))
    assert receivers(actions) == ["primary"] and wake(actions) == 30 * 60
    assert receivers(route(setup(business_hours="09:00-24:00", utc_offset="+01:00"))) == ["chat"]
    testing.set_now_ms(TUESDAY_NIGHT + 4 * 86_400_000 - 10 * 3_600_000)  # Saturday
    assert receivers(route(setup(business_hours="09:00-17:00"))) == ["primary"]


def test_resolution_reaches_everyone_who_was_told() -> None:
    group = setup()
    group.sent.append(testing.sent("chat", NotifyReason.FIRST, 40 * 60_000))
    group.sent.append(testing.sent("primary", NotifyReason.WAKE, 25 * 60_000))
    group.sent.append(testing.sent("chat", NotifyReason.REPEAT, 5 * 60_000))
    group.reason = NotifyReason.ALL_RESOLVED
    actions = route(group)
    assert receivers(actions) == ["chat", "primary"] and wake(actions) is None


def test_bad_config_is_an_error_naming_the_key() -> None:
    group = setup(page_after="soon")
    with pytest.raises(RouteError, match="page_after"):
        route(group)
    testing.set_config({})
    with pytest.raises(RouteError, match="primary"):
        route(group)


def test_parsers() -> None:
    assert parse_duration_ms("90s") == 90_000
    assert parse_duration_ms("2") == 2_000
    assert parse_duration_ms("1h") == 3_600_000
    assert parse_duration_ms("1y") is None
    assert parse_hours("09:00-17:30") == (540, 1050)
    assert parse_hours("17:00-09:00") is None
    assert parse_days("mon,wed-fri") == [True, False, True, True, True, False, False]
    assert parse_days("funday") is None
    assert parse_offset("-05:30") == -330
    assert parse_offset("Z") == 0
