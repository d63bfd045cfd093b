// config, log, state and nowMs: the host's services, as the Rust SDK's modules of those names.

import * as host from "./host.js";

/** The plugin's own `config` table from the host configuration. */
export const config = Object.freeze({
  /** The value of `key`, or undefined if it is not set. */
  get: (key) => host.configGet(key),
  /** The value of `key`, or `fallback` if it is not set. */
  getOr: (key, fallback) => host.configGet(key) ?? fallback,
  /** The keys, sorted. */
  keys: () => host.configKeys(),
});

const line = (level) => (message) => host.log(level, String(message));

/** Write to the host's log; every line is tagged with the plugin's name. */
export const log = Object.freeze({
  log: (level, message) => host.log(level, String(message)),
  trace: line("trace"),
  debug: line("debug"),
  info: line("info"),
  warn: line("warn"),
  error: line("error"),
});

/** The host refused to store a value (too large, or the plugin's state is full). */
export class StateError extends Error {}

/** The plugin's durable key/value state, kept by the host (64 KiB per value, 1 MiB in all). */
export const state = Object.freeze({
  get: (key) => host.stateGet(key),
  /** Stores `value`; with `ttlSeconds` (whole, at least 1) it expires afterwards. */
  set(key, value, ttlSeconds) {
    const ttl = ttlSeconds === undefined ? undefined : Math.min(Math.max(Math.floor(ttlSeconds), 1), 2 ** 32 - 1);
    const refused = host.stateSet(key, value, ttl);
    if (refused !== undefined) throw new StateError(refused);
  },
  delete: (key) => host.stateDelete(key),
});

/** The host's clock, in ms since the Unix epoch: the only clock a plugin has. */
export function nowMs() {
  return host.nowMs();
}
