import datetime

import pytest

from campanile_sdk import (
    Group,
    NotifyReason,
    RouteError,
    Severity,
    config,
    log,
    notify,
    now_ms,
    router,
    state,
    suppress,
    testing,
    wake_after,
)
from campanile_sdk.log import Level
from campanile_sdk.router import decide, identify
from campanile_sdk.state import StateError


def test_severity_reads_labels_like_the_host() -> None:
    cases = {
        "critical": Severity.CRITICAL,
        "Page": Severity.CRITICAL,
        "ERROR": Severity.ERROR,
        "warning": Severity.WARNING,
        " warn ": Severity.WARNING,
        "info": Severity.INFO,
        "debug": None,
    }
    for label, severity in cases.items():
        assert Severity.from_label(label) is severity, label
    assert Severity.CRITICAL < Severity.ERROR < Severity.WARNING < Severity.INFO


def test_highest_severity_counts_firing_alerts_unless_none_fires() -> None:
    group = testing.group([
        testing.alert({"alertname": "A", "severity": "warning"}),
        testing.alert({"alertname": "B", "severity": "info"}),
        testing.resolved_alert({"alertname": "C", "severity": "critical"}),
    ])
    assert group.highest_severity is Severity.WARNING
    resolved = testing.group([testing.resolved_alert({"severity": "critical"})])
    assert resolved.highest_severity is Severity.CRITICAL
    assert testing.group([testing.alert({"severity": "?"})]).highest_severity is None


def test_a_group_puts_firing_alerts_first_with_common_labels() -> None:
    group = testing.group([
        testing.resolved_alert({"alertname": "Down", "instance": "a"}),
        testing.alert({"alertname": "Down", "instance": "b"}),
    ])
    assert group.alerts[0].is_firing
    assert [a.labels["instance"] for a in group.firing] == ["b"]
    assert [a.labels["instance"] for a in group.resolved] == ["a"]
    assert group.common_labels == {"alertname": "Down"}
    assert (group.route, group.receiver, group.key) == ("root", "default", "{}:{}")
    assert group.reason is NotifyReason.FIRST


def test_history_helpers() -> None:
    group = testing.group([testing.alert({"alertname": "Down"})])
    assert group.first_sent_at is None and not group.is_acknowledged
    group.sent.append(testing.sent("chat", NotifyReason.FIRST, 90_000))
    group.sent.append(testing.sent("pager", NotifyReason.WAKE, 30_000))
    group.acknowledged = testing.acknowledgement("alice")
    assert group.first_sent_at == now_ms() - 90_000
    assert group.was_sent_to("chat") and not group.was_sent_to("email")
    assert group.is_acknowledged and group.acknowledged.by == "alice"


def test_the_fake_host_serves_config_clock_logs_and_state() -> None:
    testing.set_config({"pager": "pd", "chat": "slack"})
    assert config.get("pager") == "pd" and config.keys() == ["chat", "pager"]
    testing.set_now_ms(42)
    assert now_ms() == 42
    log.info("one")
    log.error("two")
    assert testing.logs() == [(Level.INFO, "one"), (Level.ERROR, "two")]
    assert Level.WARN > Level.INFO
    testing.clear_logs()
    assert testing.logs() == []
    state.set("b", "2")
    state.set("a", "1", ttl=60)
    assert testing.state() == {"a": "1", "b": "2"}
    testing.set_now_ms(42 + 61_000)
    assert state.get("a") is None and testing.state() == {"b": "2"}
    state.delete("b")
    assert state.get("b") is None


def test_state_refuses_what_the_host_would() -> None:
    with pytest.raises(StateError, match="limit per value"):
        state.set("big", "x" * (64 * 1024))
    assert testing.state() == {}


def test_reset_forgets_everything() -> None:
    testing.set_config({"pager": "pd"})
    testing.set_now_ms(1)
    log.info("noise")
    state.set("k", "v")
    testing.reset()
    assert config.keys() == [] and now_ms() == testing.DEFAULT_NOW_MS
    assert testing.logs() == [] and testing.state() == {}


def test_each_test_starts_with_a_fresh_fake_host() -> None:
    # The previous tests set config and state; the autouse fixture reset them.
    assert config.keys() == [] and testing.state() == {}


def test_wake_after_holds_whole_seconds_of_at_least_one() -> None:
    assert wake_after(900).seconds == 900
    assert wake_after(datetime.timedelta(minutes=2)).seconds == 120
    assert wake_after(0).seconds == 1
    assert wake_after(10**12).seconds == 2**32 - 1


def test_router_answers_are_normalised_and_checked() -> None:
    @router
    def one(group: Group):
        return notify(group.receiver, title="t")

    group = testing.group([])
    assert decide(group) == [notify("default", title="t")]

    @router
    def several(group: Group):
        return (a for a in [suppress("quiet"), wake_after(5)])

    assert decide(group) == [suppress("quiet"), wake_after(5)]

    @router
    def wrong(group: Group):
        return ["default"]

    with pytest.raises(RouteError, match="not an action"):
        decide(group)


def test_identity_defaults_to_all_labels() -> None:
    labels = testing.labels({"alertname": "Down", "replica": "a"})
    from campanile_sdk import identity

    @identity
    def drop_replica(labels):
        return {n: v for n, v in labels.items() if n != "replica"}

    assert identify(labels) == testing.labels({"alertname": "Down"})
