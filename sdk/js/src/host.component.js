// The host functions inside the component: campanile's `host` interface (wit/router.wit). The
// build (bin/build.mjs) puts this module in place of fake-host.js.

import * as wit from "campanile:router/host@0.3.0";

export function log(level, message) { wit.log(level, message); }
export function configGet(key) { return wit.configGet(key) ?? undefined; }
export function configKeys() { return wit.configKeys(); }
export function nowMs() { return Number(wit.nowMs()); }
export function stateGet(key) { return wit.stateGet(key) ?? undefined; }
export function stateSet(key, value, ttlSeconds) {
  try {
    wit.stateSet(key, value, ttlSeconds);
    return undefined;
  } catch (refused) {
    return String(refused?.payload ?? refused);
  }
}
export function stateDelete(key) { wit.stateDelete(key); }
