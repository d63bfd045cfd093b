// What a router answers: notify(...), suppress(...) and wakeAfter(...).

const MAX_SECONDS = 2 ** 32 - 1;

/** Tell `receiver` about the group, optionally replacing its title, body and severity. */
export function notify(receiver, { title, body, severity } = {}) {
  return { kind: "notify", receiver, title, body, severity };
}

/** Deliberately tell nobody; the host logs `reason`. */
export function suppress(reason) {
  return { kind: "suppress", reason };
}

/** Route the group again after `seconds` (whole, at least 1) with reason "wake". */
export function wakeAfter(seconds) {
  return { kind: "wake-after", seconds: Math.min(Math.max(Math.floor(seconds), 1), MAX_SECONDS) };
}

export const ACTION_KINDS = new Set(["notify", "suppress", "wake-after"]);
