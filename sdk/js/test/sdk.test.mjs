import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { config, log, notify, nowMs, router, RouteError, Severity, severityFromLabel, state, StateError, suppress, wakeAfter } from "campanile-sdk";
import { decide, identify } from "../src/router.js";
import { identity } from "campanile-sdk";
import * as testing from "campanile-sdk/testing";

beforeEach(() => testing.reset());

test("severity labels read like the host's", () => {
  const cases = { critical: "critical", Page: "critical", ERROR: "error", warning: "warning", " warn ": "warning", info: "info", debug: undefined };
  for (const [label, severity] of Object.entries(cases)) assert.equal(severityFromLabel(label), severity, label);
  assert.equal(Severity.CRITICAL, "critical");
});

test("highest severity counts firing alerts unless none fires", () => {
  const group = testing.group([
    testing.alert({ alertname: "A", severity: "warning" }),
    testing.alert({ alertname: "B", severity: "info" }),
    testing.resolvedAlert({ alertname: "C", severity: "critical" }),
  ]);
  assert.equal(group.highestSeverity, "warning");
  assert.equal(testing.group([testing.resolvedAlert({ severity: "critical" })]).highestSeverity, "critical");
  assert.equal(testing.group([testing.alert({ severity: "?" })]).highestSeverity, undefined);
});

test("a group puts firing alerts first, with common labels", () => {
  const group = testing.group([testing.resolvedAlert({ alertname: "Down", instance: "a" }), testing.alert({ alertname: "Down", instance: "b" })]);
  assert.ok(group.alerts[0].isFiring);
  assert.deepEqual(group.commonLabels.toObject(), { alertname: "Down" });
  assert.deepEqual([group.route, group.receiver, group.key, group.reason], ["root", "default", "{}:{}", "first"]);
});

test("history helpers", () => {
  const group = testing.group([testing.alert({ alertname: "Down" })]);
  assert.equal(group.firstSentAt, undefined);
  group.sent.push(testing.sent("chat", "first", 90_000), testing.sent("pager", "wake", 30_000));
  group.acknowledged = testing.acknowledgement("alice");
  assert.equal(group.firstSentAt, nowMs() - 90_000);
  assert.ok(group.wasSentTo("chat") && !group.wasSentTo("email") && group.isAcknowledged);
});

test("the fake host serves config, clock, logs and state", () => {
  testing.setConfig({ pager: "pd", chat: "slack" });
  assert.equal(config.get("pager"), "pd");
  assert.equal(config.getOr("email", "x"), "x");
  assert.deepEqual(config.keys(), ["chat", "pager"]);
  testing.setNowMs(42);
  assert.equal(nowMs(), 42);
  log.info("one");
  log.error("two");
  assert.deepEqual(testing.logs(), [["info", "one"], ["error", "two"]]);
  state.set("b", "2");
  state.set("a", "1", 60);
  assert.deepEqual(testing.state(), { a: "1", b: "2" });
  testing.setNowMs(42 + 61_000);
  assert.equal(state.get("a"), undefined);
  state.delete("b");
  assert.deepEqual(testing.state(), {});
  assert.throws(() => state.set("big", "x".repeat(64 * 1024)), StateError);
});

test("reset forgets everything", () => {
  testing.setConfig({ pager: "pd" });
  log.info("noise");
  testing.reset();
  assert.deepEqual(config.keys(), []);
  assert.deepEqual(testing.logs(), []);
  assert.equal(nowMs(), testing.DEFAULT_NOW_MS);
});

test("wakeAfter holds whole seconds of at least one", () => {
  assert.equal(wakeAfter(900).seconds, 900);
  assert.equal(wakeAfter(0.2).seconds, 1);
  assert.equal(wakeAfter(1e12).seconds, 2 ** 32 - 1);
});

test("router answers are normalised and checked", () => {
  router((group) => notify(group.receiver, { title: "t" }));
  const group = testing.group([]);
  assert.deepEqual(decide(group), [notify("default", { title: "t" })]);
  router(() => [suppress("quiet"), wakeAfter(5)]);
  assert.deepEqual(decide(group), [suppress("quiet"), wakeAfter(5)]);
  router(() => ["default"]);
  assert.throws(() => decide(group), RouteError);
});

test("identity defaults to all labels", () => {
  const labels = testing.labels({ alertname: "Down", replica: "a" });
  identity((l) => l.filtered((n) => n !== "replica"));
  assert.ok(identify(labels).equals({ alertname: "Down" }));
});
