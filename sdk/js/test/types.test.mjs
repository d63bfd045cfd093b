// index.d.ts is written beside wit/router.wit: every enum case of the WIT must be a type there.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const wit = readFileSync(new URL("../wit/router.wit", import.meta.url), "utf8");
const types = readFileSync(new URL("../src/index.d.ts", import.meta.url), "utf8");

test("the SDK's copy of the WIT is the contract's", () => {
  assert.equal(wit, readFileSync(new URL("../../../wit/router.wit", import.meta.url), "utf8"));
});

test("every enum case of the WIT is in the types", () => {
  for (const [, name, body] of wit.matchAll(/enum ([a-z-]+) \{([^}]*)\}/g)) {
    const cases = body.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("///")).map((l) => l.replace(",", ""));
    for (const c of cases) assert.ok(types.includes(`"${c}"`), `${name}: ${c}`);
  }
});
