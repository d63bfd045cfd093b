// The Rust example's unit tests (plugins/severity-router/src/lib.rs), case for case.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { type Alert, notify, type Severity } from "campanile-sdk";
import * as testing from "campanile-sdk/testing";
import { route } from "./router.ts";

const CONFIG = { pager: "oncall-pager", chat: "team-chat", email: "team-mail", default: "catch-all" };
const alert = (name: string, severity: string): Alert => testing.alert({ alertname: name, severity });
const routed = (alerts: Alert[]) => route(testing.group(alerts));

beforeEach(() => testing.reset());

test("each severity goes to its receiver", () => {
  testing.setConfig(CONFIG);
  const cases: [string, string, Severity][] = [
    ["critical", "oncall-pager", "critical"],
    ["page", "oncall-pager", "critical"],
    ["error", "oncall-pager", "error"],
    ["warning", "team-chat", "warning"],
    ["info", "team-mail", "info"],
  ];
  for (const [label, receiver, severity] of cases) assert.deepEqual(routed([alert("A", label)]), notify(receiver, { severity }), label);
  assert.deepEqual(testing.logs(), []);
});

test("severity labels ignore case", () => {
  testing.setConfig(CONFIG);
  assert.deepEqual(routed([alert("A", "PAGE")]), notify("oncall-pager", { severity: "critical" }));
  assert.deepEqual(routed([alert("A", "Warning")]), notify("team-chat", { severity: "warning" }));
});

test("the most urgent firing alert wins", () => {
  testing.setConfig(CONFIG);
  const answer = routed([alert("A", "info"), alert("B", "error"), alert("C", "warning"), testing.alert({ alertname: "D" }), alert("E", "bogus")]);
  assert.deepEqual(answer, notify("oncall-pager", { severity: "error" }));
});

test("resolved alerts count only when nothing fires", () => {
  testing.setConfig(CONFIG);
  const resolvedCritical = testing.resolvedAlert({ alertname: "R", severity: "critical" });
  assert.deepEqual(routed([alert("A", "info"), resolvedCritical]), notify("team-mail", { severity: "info" }));
  const group = testing.group([testing.resolvedAlert({ alertname: "S", severity: "info" }), resolvedCritical]);
  group.reason = "all-resolved";
  assert.deepEqual(route(group), notify("oncall-pager", { severity: "critical" }));
});

test("unknown severity goes to default without override", () => {
  testing.setConfig(CONFIG);
  assert.deepEqual(routed([alert("A", "urgent")]), notify("catch-all"));
  assert.deepEqual(routed([testing.alert({ alertname: "A" })]), notify("catch-all"));
  assert.deepEqual(testing.logs(), []);
});

test("unknown severity without default goes to the group receiver", () => {
  testing.setConfig({ pager: "oncall-pager" });
  assert.deepEqual(routed([alert("A", "urgent")]), notify("default"));
  assert.ok(testing.logs().every(([level]) => level === "debug"));
});

test("a missing receiver key falls back to the group receiver with a warning", () => {
  testing.setConfig({ chat: "team-chat", default: "catch-all" });
  const group = testing.group([alert("A", "critical")]);
  group.receiver = "route-receiver";
  assert.deepEqual(route(group), notify("route-receiver", { severity: "critical" }));
  const logs = testing.logs();
  assert.equal(logs.length, 1);
  assert.equal(logs[0][0], "warn");
  assert.match(logs[0][1], /`pager`/);
});

test("an empty receiver counts as missing", () => {
  testing.setConfig({ email: "" });
  assert.deepEqual(routed([alert("A", "info")]), notify("default", { severity: "info" }));
  assert.equal(testing.logs()[0][0], "warn");
});

test("an empty group goes to default", () => {
  testing.setConfig(CONFIG);
  assert.deepEqual(routed([]), notify("catch-all"));
});
