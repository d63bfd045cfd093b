import assert from "node:assert/strict";
import { test } from "node:test";

import { Labels } from "campanile-sdk";

test("the layout is the contract's", () => {
  const labels = new Labels({ team: "db", alertname: "Down" });
  assert.equal(labels.text, "alertnameDownteamdb");
  assert.deepEqual(labels.ends, [9, 13, 17, 19]);
});

test("a packed set reads like a map", () => {
  const labels = Labels.packed("alertnameDownteamdb", new Uint32Array([9, 13, 17, 19]));
  assert.equal(labels.get("team"), "db");
  assert.ok(labels.has("alertname") && !labels.has("cluster"));
  assert.deepEqual(labels.toObject(), { alertname: "Down", team: "db" });
  assert.equal(labels.size, 2);
  assert.ok(labels.equals({ team: "db", alertname: "Down" }));
  assert.equal(String(labels), '{alertname="Down", team="db"}');
});

test("offsets count UTF-8 bytes", () => {
  const labels = new Labels({ é: "ü", a: "b" });
  assert.deepEqual(labels.ends, [1, 2, 4, 6]);
  assert.deepEqual(Labels.packed(labels.text, labels.ends).toObject(), { a: "b", é: "ü" });
});

test("a later duplicate wins; names sort by bytes", () => {
  const labels = new Labels([["b", "1"], ["a", "x"], ["b", "2"], ["B", "3"]]);
  assert.deepEqual([...labels], [["B", "3"], ["a", "x"], ["b", "2"]]);
});

test("a malformed set stops without throwing", () => {
  assert.deepEqual([...Labels.packed("ab", [1, 2, 5])], [["a", "b"]]);
  assert.equal(Labels.packed("abcd", [3, 1]).toObject().a, undefined);
  assert.deepEqual(Labels.packed("é", [1, 2]).toObject(), {});
});

test("filtered and with", () => {
  const labels = new Labels({ alertname: "Down", replica: "a" });
  assert.ok(labels.filtered((n) => n !== "replica").equals({ alertname: "Down" }));
  assert.equal(labels.with("replica", "b").get("replica"), "b");
});
