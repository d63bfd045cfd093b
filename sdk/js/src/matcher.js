// Label matchers, like Alertmanager's name="value", without regular expressions; the same
// semantics as the other SDKs', checked against sdk/matcher-cases.json. A missing label counts
// as the empty string.

import { Alert } from "./model.js";

export class Matcher {
  constructor(name, op, values) {
    this.name = name;
    this.op = op;
    this.values = Object.freeze([...values]);
    Object.freeze(this);
  }
  static eq(name, value) { return new Matcher(name, "=", [value]); }
  static neq(name, value) { return new Matcher(name, "!=", [value]); }
  static oneOf(name, values) { return new Matcher(name, "in", values); }

  /** Whether an alert (its labels) or a label set satisfies the matcher. */
  matches(target) {
    const labels = target instanceof Alert ? target.labels : target;
    const value = labels.get(this.name) ?? "";
    if (this.op === "=") return value === this.values[0];
    if (this.op === "!=") return value !== this.values[0];
    return this.values.includes(value);
  }
}
