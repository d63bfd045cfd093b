// The fake host the SDK talks to outside a component (under `node --test`): config, clock, log
// and state in memory, controlled by campanile-sdk/testing. The same fake host as the Rust
// SDK's `testing` module.

export const DEFAULT_NOW_MS = 1_700_000_000_000; // 2023-11-14T22:13:20Z, a Tuesday
const MAX_STATE_VALUE_BYTES = 64 * 1024;
const encoder = new TextEncoder();

export const fake = {
  config: new Map(),
  now: DEFAULT_NOW_MS,
  lines: [],
  kept: new Map(), // key -> [value, expiry ms or undefined]
  reset() {
    this.config = new Map();
    this.now = DEFAULT_NOW_MS;
    this.lines = [];
    this.kept = new Map();
  },
  live([, expires]) {
    return expires === undefined || expires > this.now;
  },
};

export function log(level, message) {
  process.stderr.write(`[plugin ${level}] ${message}\n`);
  fake.lines.push([level, message]);
}
export function configGet(key) { return fake.config.get(key); }
export function configKeys() { return [...fake.config.keys()].sort(); }
export function nowMs() { return fake.now; }
export function stateGet(key) {
  const entry = fake.kept.get(key);
  return entry && fake.live(entry) ? entry[0] : undefined;
}
/** Stores the value; returns the host's reason if it refused to. */
export function stateSet(key, value, ttlSeconds) {
  const size = encoder.encode(key).length + encoder.encode(value).length;
  if (size > MAX_STATE_VALUE_BYTES) {
    return `key and value are ${size} bytes; the limit per value is ${MAX_STATE_VALUE_BYTES}`;
  }
  fake.kept.set(key, [value, ttlSeconds === undefined ? undefined : fake.now + ttlSeconds * 1000]);
  return undefined;
}
export function stateDelete(key) { fake.kept.delete(key); }
