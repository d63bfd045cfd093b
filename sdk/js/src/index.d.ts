// Types of campanile-sdk: the contract's types (wit/router.wit, campanile:router@0.3.0) as the
// SDK hands them to a plugin, and its API. Kept beside the WIT: a change to one is a change to
// the other (test/types.test.mjs checks the WIT's names are here).

/** How urgent a notification is; receivers map it onto their own scale. */
export type Severity = "critical" | "error" | "warning" | "info";
export declare const Severity: { readonly CRITICAL: "critical"; readonly ERROR: "error"; readonly WARNING: "warning"; readonly INFO: "info" };
/** Reads a `severity` label as the host does (case and spaces ignored; `page`, `warn` too). */
export declare function severityFromLabel(value: string): Severity | undefined;
/** Whether `a` is more urgent than `b`. */
export declare function moreUrgent(a: Severity, b: Severity): boolean;

/** Whether an alert still fires. */
export type AlertStatus = "firing" | "resolved";
/** Why a group is routed now. */
export type NotifyReason = "first" | "new-alerts" | "some-resolved" | "all-resolved" | "repeat" | "wake";
export declare const NotifyReason: {
  readonly FIRST: "first";
  readonly NEW_ALERTS: "new-alerts";
  readonly SOME_RESOLVED: "some-resolved";
  readonly ALL_RESOLVED: "all-resolved";
  readonly REPEAT: "repeat";
  readonly WAKE: "wake";
};

/** A set of labels or annotations: unique names, sorted, each with a value; read like a Map. */
export declare class Labels implements Iterable<[string, string]> {
  constructor(pairs?: Record<string, string> | Iterable<[string, string]>);
  /** The set the host sent packed (see wit/router.wit, `label-set`). */
  static packed(text: string, ends: ArrayLike<number>): Labels;
  readonly text: string;
  readonly ends: number[];
  readonly size: number;
  get(name: string): string | undefined;
  has(name: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toObject(): Record<string, string>;
  equals(other: Labels | Record<string, string>): boolean;
  filtered(keep: (name: string, value: string) => boolean): Labels;
  with(name: string, value: string): Labels;
  toString(): string;
}

/** One alert of a group, as deduplicated by the host. Times are ms since the Unix epoch. */
export declare class Alert {
  fingerprint: bigint;
  status: AlertStatus;
  labels: Labels;
  annotations: Labels;
  startsAt: number;
  endsAt: number | undefined;
  generatorUrl: string;
  readonly name: string | undefined;
  readonly isFiring: boolean;
  readonly severity: Severity | undefined;
}

/** An operator's acknowledgement of a group. */
export interface Acknowledgement { by: string; comment: string; at: number }
/** One notification the group was sent before. */
export interface Sent { receiver: string; reason: NotifyReason; at: number }

/** An aggregation group that is due for a notification: what a router decides about. */
export declare class Group {
  key: string;
  route: string;
  /** The route's receiver: the fallback if the plugin faults. */
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  /** Firing first, then resolved; each by start time. */
  alerts: Alert[];
  reason: NotifyReason;
  acknowledged: Acknowledgement | undefined;
  /** What earlier decisions sent, oldest first (the last 64). */
  sent: Sent[];
  readonly firing: Alert[];
  readonly resolved: Alert[];
  readonly isAcknowledged: boolean;
  readonly highestSeverity: Severity | undefined;
  readonly firstSentAt: number | undefined;
  wasSentTo(receiver: string): boolean;
  matching(matcher: Matcher): Alert[];
}

export interface Notify { kind: "notify"; receiver: string; title?: string; body?: string; severity?: Severity }
export interface Suppress { kind: "suppress"; reason: string }
export interface WakeAfter { kind: "wake-after"; seconds: number }
/** One decision of a router. */
export type Action = Notify | Suppress | WakeAfter;

/** Tell `receiver` about the group, optionally replacing its title, body and severity. */
export declare function notify(receiver: string, options?: { title?: string; body?: string; severity?: Severity }): Notify;
/** Deliberately tell nobody; the host logs `reason`. */
export declare function suppress(reason: string): Suppress;
/** Route the group again after `seconds` (whole, at least 1) with reason "wake". */
export declare function wakeAfter(seconds: number): WakeAfter;

/** A condition on one label; a missing label counts as the empty string. */
export declare class Matcher {
  static eq(name: string, value: string): Matcher;
  static neq(name: string, value: string): Matcher;
  static oneOf(name: string, values: string[]): Matcher;
  readonly name: string;
  readonly op: "=" | "!=" | "in";
  readonly values: readonly string[];
  matches(target: Alert | Labels): boolean;
}

export type Level = "trace" | "debug" | "info" | "warn" | "error";
export declare const config: { get(key: string): string | undefined; getOr(key: string, fallback: string): string; keys(): string[] };
export declare const log: { log(level: Level, message: string): void } & { [L in Level]: (message: string) => void };
export declare class StateError extends Error {}
export declare const state: { get(key: string): string | undefined; set(key: string, value: string, ttlSeconds?: number): void; delete(key: string): void };
/** The host's clock, in ms since the Unix epoch. */
export declare function nowMs(): number;

/** Throw it (or any error) to answer with an error: the route's receiver is told instead. */
export declare class RouteError extends Error {}
/** Marks the plugin's router; returns it unchanged. */
export declare function router<F extends (group: Group) => Action | Iterable<Action>>(fn: F): F;
/** Marks the plugin's identity function; returns it unchanged. */
export declare function identity<F extends (labels: Labels) => Labels | Record<string, string> | undefined>(fn: F): F;

export declare const CONTRACT: "campanile:router@0.3.0";
