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

test("reading in place answers what decoding answers", () => {
  // Sets as the host sends them, and malformed ones it never sends.
  const cases = [
    ["alertnameDownteamdb", [9, 13, 17, 19]],
    ["aébü", [1, 3, 4, 6]],
    ["ab", [1, 2, 5]],
    ["abcd", [3, 1]],
    ["abcd", [1, 9, 2, 4]],
    ["abcd", [2, 1, 3, 4]],
    ["é", [1, 2]],
    ["", []],
  ];
  for (const [text, ends] of cases) {
    const decoded = Labels.packed(text, ends);
    decoded.toObject(); // decodes the set: later reads use it
    for (const name of ["a", "ab", "abc", "alertname", "team", "b", "é", "", "missing"]) {
      const fresh = Labels.packed(text, ends);
      assert.equal(fresh.get(name), decoded.get(name), `${text} ${ends} ${name}`);
    }
  }
});
