import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Matcher } from "campanile-sdk";
import * as testing from "campanile-sdk/testing";

const { cases } = JSON.parse(readFileSync(new URL("../../matcher-cases.json", import.meta.url), "utf8"));

function build({ name, op, values }) {
  if (op === "=") return Matcher.eq(name, values[0]);
  if (op === "!=") return Matcher.neq(name, values[0]);
  return Matcher.oneOf(name, values);
}

test("the shared matcher cases", () => {
  assert.ok(cases.length > 10);
  for (const c of cases) {
    const alert = testing.alert(c.labels);
    assert.equal(build(c).matches(alert), c.matches, JSON.stringify(c));
    assert.equal(build(c).matches(alert.labels), c.matches, JSON.stringify(c));
  }
});

test("a group lists its matching alerts", () => {
  const group = testing.group([testing.alert({ alertname: "A", env: "prod" }), testing.alert({ alertname: "B", env: "dev" })]);
  assert.deepEqual(group.matching(Matcher.eq("env", "prod")).map((a) => a.name), ["A"]);
});
