"""The Rust example's unit tests (`plugins/severity-router/src/lib.rs`), case for case."""

from campanile_sdk import Alert, Notify, NotifyReason, Severity, notify, testing
from campanile_sdk.log import Level
from severity_router import route

CONFIG = {"pager": "oncall-pager", "chat": "team-chat", "email": "team-mail", "default": "catch-all"}


def alert(name: str, severity: str) -> Alert:
    return testing.alert({"alertname": name, "severity": severity})


def routed(alerts: list[Alert]) -> Notify:
    answer = route(testing.group(alerts))
    assert isinstance(answer, Notify), answer
    return answer


def test_each_severity_goes_to_its_receiver() -> None:
    testing.set_config(CONFIG)
    cases = [
        ("critical", "oncall-pager", Severity.CRITICAL),
        ("page", "oncall-pager", Severity.CRITICAL),
        ("error", "oncall-pager", Severity.ERROR),
        ("warning", "team-chat", Severity.WARNING),
        ("info", "team-mail", Severity.INFO),
    ]
    for label, receiver, severity in cases:
        assert routed([alert("A", label)]) == notify(receiver, severity=severity), label
    assert testing.logs() == []


def test_severity_labels_ignore_case() -> None:
    testing.set_config(CONFIG)
    assert routed([alert("A", "PAGE")]) == notify("oncall-pager", severity=Severity.CRITICAL)
    assert routed([alert("A", "Warning")]) == notify("team-chat", severity=Severity.WARNING)


def test_the_most_urgent_firing_alert_wins() -> None:
    testing.set_config(CONFIG)
    answer = routed([
        alert("A", "info"),
        alert("B", "error"),
        alert("C", "warning"),
        testing.alert({"alertname": "D"}),
        alert("E", "bogus"),
    ])
    assert answer == notify("oncall-pager", severity=Severity.ERROR)


def test_resolved_alerts_count_only_when_nothing_fires() -> None:
    testing.set_config(CONFIG)
    resolved_critical = testing.resolved_alert({"alertname": "R", "severity": "critical"})
    assert routed([alert("A", "info"), resolved_critical]) == notify(
        "team-mail", severity=Severity.INFO
    )
    resolved_info = testing.resolved_alert({"alertname": "S", "severity": "info"})
    group = testing.group([resolved_info, resolved_critical])
    group.reason = NotifyReason.ALL_RESOLVED
    assert route(group) == notify("oncall-pager", severity=Severity.CRITICAL)


def test_unknown_severity_goes_to_default_without_override() -> None:
    testing.set_config(CONFIG)
    assert routed([alert("A", "urgent")]) == notify("catch-all")
    assert routed([testing.alert({"alertname": "A"})]) == notify("catch-all")
    assert testing.logs() == []


def test_unknown_severity_without_default_goes_to_the_group_receiver() -> None:
    testing.set_config({"pager": "oncall-pager"})
    assert routed([alert("A", "urgent")]) == notify("default")
    assert all(level < Level.WARN for level, _ in testing.logs())


def test_missing_receiver_key_falls_back_to_the_group_receiver_with_a_warning() -> None:
    testing.set_config({"chat": "team-chat", "default": "catch-all"})
    group = testing.group([alert("A", "critical")])
    group.receiver = "route-receiver"
    assert route(group) == notify("route-receiver", severity=Severity.CRITICAL)
    logs = testing.logs()
    assert len(logs) == 1 and logs[0][0] is Level.WARN and "`pager`" in logs[0][1]


def test_empty_receiver_counts_as_missing() -> None:
    testing.set_config({"email": ""})
    assert routed([alert("A", "info")]) == notify("default", severity=Severity.INFO)
    assert testing.logs()[0][0] is Level.WARN


def test_an_empty_group_goes_to_default() -> None:
    testing.set_config(CONFIG)
    assert routed([]) == notify("catch-all")
