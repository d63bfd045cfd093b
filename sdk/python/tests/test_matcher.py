import json
from pathlib import Path

import pytest

from campanile_sdk import Matcher, testing

CASES = json.loads((Path(__file__).parents[2] / "matcher-cases.json").read_text())["cases"]


def build(case: dict) -> Matcher:
    name, values = case["name"], case["values"]
    if case["op"] == "=":
        return Matcher.eq(name, values[0])
    if case["op"] == "!=":
        return Matcher.neq(name, values[0])
    return Matcher.one_of(name, values)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f'{c["name"]}{c["op"]}{c["values"]}@{c["labels"]}')
def test_the_shared_cases(case: dict) -> None:
    matcher = build(case)
    alert = testing.alert(case["labels"])
    assert matcher.matches(alert) is case["matches"]
    assert matcher.matches(alert.labels) is case["matches"]


def test_a_group_lists_its_matching_alerts() -> None:
    group = testing.group([
        testing.alert({"alertname": "A", "env": "prod"}),
        testing.alert({"alertname": "B", "env": "dev"}),
    ])
    assert [a.name for a in group.matching(Matcher.eq("env", "prod"))] == ["A"]
