// campanile-sdk/testing: unit-test plugins natively with `node --test`, the same fake host as
// the Rust SDK's `testing` module. Set its config with setConfig, its clock with setNowMs, read
// what the plugin logged with logs() and what it stored with state(); reset() between tests.

import { DEFAULT_NOW_MS, fake } from "./fake-host.js";
import { Labels } from "./labels.js";
import { Alert, Group } from "./model.js";

export { DEFAULT_NOW_MS };

export function reset() { fake.reset(); }
export function setConfig(entries) { fake.config = new Map(Object.entries(entries).map(([k, v]) => [k, String(v)])); }
export function setNowMs(nowMs) { fake.now = nowMs; }
/** The lines logged so far, oldest first, as [level, message]. */
export function logs() { return fake.lines.map((l) => [...l]); }
export function clearLogs() { fake.lines = []; }
/** The plugin's live state, as an object sorted by key. */
export function state() {
  return Object.fromEntries([...fake.kept].filter(([, e]) => fake.live(e)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => [k, e[0]]));
}

export function labels(entries = {}) { return new Labels(entries); }

/** A firing alert with these labels, starting at the fake clock's time; its fingerprint is the
 * FNV-1a hash of its sorted labels. */
export function alert(labelEntries, annotations = {}) {
  const set = new Labels(labelEntries);
  return new Alert({ fingerprint: fingerprint(set), status: "firing", labels: set, annotations: new Labels(annotations), startsAt: fake.now, endsAt: undefined });
}

/** Like alert(), but resolved one minute after it started. */
export function resolvedAlert(labelEntries, annotations = {}) {
  const made = alert(labelEntries, annotations);
  made.status = "resolved";
  made.endsAt = made.startsAt + 60_000;
  return made;
}

/** A group of these alerts for a route `root` with receiver `default` grouping by nothing:
 * firing first, commonLabels the labels all share, reason "first", key "{}:{}". */
export function group(alerts = []) {
  const ordered = [...alerts.filter((a) => a.isFiring), ...alerts.filter((a) => !a.isFiring)];
  const [first, ...rest] = ordered;
  const commonLabels = first ? first.labels.filtered((n, v) => rest.every((a) => a.labels.get(n) === v)) : new Labels();
  return new Group({ key: "{}:{}", route: "root", receiver: "default", groupLabels: new Labels(), commonLabels, alerts: ordered });
}

export function acknowledgement(by, comment = "") { return { by, comment, at: fake.now }; }
export function sent(receiver, reason, agoMs) { return { receiver, reason, at: fake.now - agoMs }; }

function fingerprint(set) {
  let hash = 0xcbf29ce484222325n;
  const encoder = new TextEncoder();
  for (const [name, value] of set) {
    for (const part of [name, value]) {
      for (const byte of [...encoder.encode(part), 0xff]) {
        hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      }
    }
  }
  return hash;
}
