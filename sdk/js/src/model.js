// The contract's data types as plain JavaScript: Group, Alert, Severity and their kin, mirroring
// wit/router.wit and the Rust SDK. The component's bindings are converted at the edge
// (exports.js), so a plugin and its tests never see them.

/** How urgent a notification is, most urgent first. */
export const Severity = Object.freeze({ CRITICAL: "critical", ERROR: "error", WARNING: "warning", INFO: "info" });
const RANK = { critical: 0, error: 1, warning: 2, info: 3 };
const NAMES = { critical: "critical", page: "critical", error: "error", warning: "warning", warn: "warning", info: "info" };

/** Reads a `severity` label as the host does: case and surrounding spaces ignored, `page` is
 * critical, `warn` is warning; anything else is undefined. */
export function severityFromLabel(value) {
  const name = value.trim().toLowerCase();
  return Object.hasOwn(NAMES, name) ? NAMES[name] : undefined;
}

/** Whether severity `a` is more urgent than `b`. */
export function moreUrgent(a, b) {
  return RANK[a] < RANK[b];
}

/** Why a group is routed now. */
export const NotifyReason = Object.freeze({
  FIRST: "first",
  NEW_ALERTS: "new-alerts",
  SOME_RESOLVED: "some-resolved",
  ALL_RESOLVED: "all-resolved",
  REPEAT: "repeat",
  WAKE: "wake",
});

/** One alert of a group, as deduplicated by the host. */
export class Alert {
  constructor({ fingerprint, status, labels, annotations, startsAt, endsAt, generatorUrl = "" }) {
    // The alert `of` builds stands for `this` (a constructor may return its object).
    return Alert.of(fingerprint, status, labels, annotations, startsAt, endsAt, generatorUrl);
  }
  /** As the constructor, from positional values and without an options object: what the
   * component's exports build every alert of every group with (interpreted, so it counts). */
  static of(fingerprint, status, labels, annotations, startsAt, endsAt, generatorUrl) {
    const alert = Object.create(Alert.prototype);
    alert.fingerprint = fingerprint;
    alert.status = status;
    alert.labels = labels;
    alert.annotations = annotations;
    alert.startsAt = startsAt;
    alert.endsAt = endsAt;
    alert.generatorUrl = generatorUrl;
    return alert;
  }
  get name() { return this.labels.get("alertname"); }
  get isFiring() { return this.status === "firing"; }
  get severity() {
    const value = this.labels.get("severity");
    return value === undefined ? undefined : severityFromLabel(value);
  }
}

/** An aggregation group that is due for a notification: what a router decides about. */
export class Group {
  constructor({ key, route, receiver, groupLabels, commonLabels, alerts, reason = "first", acknowledged, sent = [] }) {
    this.key = key;
    this.route = route;
    this.receiver = receiver;
    this.groupLabels = groupLabels;
    this.commonLabels = commonLabels;
    this.alerts = alerts;
    this.reason = reason;
    this.acknowledged = acknowledged;
    this.sent = sent;
  }
  get firing() { return this.alerts.filter((a) => a.isFiring); }
  get resolved() { return this.alerts.filter((a) => !a.isFiring); }
  get isAcknowledged() { return this.acknowledged !== undefined; }
  /** The most urgent severity among the firing alerts, or all alerts when none fires. */
  get highestSeverity() {
    // One pass with index loops, no arrays: the most urgent firing severity, and the most
    // urgent of all for when nothing fires.
    const alerts = this.alerts;
    let firing, any, fires = false;
    for (let i = 0; i < alerts.length; i++) {
      const alert = alerts[i];
      const isFiring = alert.status === "firing";
      if (fires && !isFiring) continue;
      const s = alert.severity;
      if (isFiring) {
        fires = true;
        if (s !== undefined && (firing === undefined || RANK[s] < RANK[firing])) firing = s;
      } else if (s !== undefined && (any === undefined || RANK[s] < RANK[any])) any = s;
    }
    return fires ? firing : any;
  }
  get firstSentAt() {
    return this.sent.length ? Math.min(...this.sent.map((s) => s.at)) : undefined;
  }
  wasSentTo(receiver) { return this.sent.some((s) => s.receiver === receiver); }
  matching(matcher) { return this.alerts.filter((a) => matcher.matches(a)); }
}
