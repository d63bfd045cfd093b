// The component's exports, `route` and `identity` as wit/router.wit declares them, converting
// between componentize-js's values and the SDK's types. The entry module the build generates
// imports the plugin (which registers its router) and re-exports these.

import { Labels } from "./labels.js";
import { Alert, Group } from "./model.js";
import { decide, identify } from "./router.js";

const labelsIn = (set) => Labels.packed(set.text, set.ends);

function alertsIn(alerts) {
  const out = new Array(alerts.length);
  for (let i = 0; i < alerts.length; i++) {
    const a = alerts[i];
    const endsAt = a.endsAt;
    out[i] = Alert.of(
      a.fingerprint,
      a.status,
      Labels.packed(a.labels.text, a.labels.ends),
      Labels.packed(a.annotations.text, a.annotations.ends),
      Number(a.startsAt),
      endsAt === undefined || endsAt === null ? undefined : Number(endsAt),
      a.generatorUrl,
    );
  }
  return out;
}

function groupIn(g) {
  return new Group({
    key: g.key,
    route: g.route,
    receiver: g.receiver,
    groupLabels: labelsIn(g.groupLabels),
    commonLabels: labelsIn(g.commonLabels),
    alerts: alertsIn(g.alerts),
    reason: g.reason,
    acknowledged: g.acknowledged ? { by: g.acknowledged.by, comment: g.acknowledged.comment, at: Number(g.acknowledged.at) } : undefined,
    sent: g.sent.map((s) => ({ receiver: s.receiver, reason: s.reason, at: Number(s.at) })),
  });
}

function actionOut(action) {
  switch (action.kind) {
    case "notify":
      return { tag: "notify", val: { receiver: action.receiver, title: action.title, body: action.body, severity: action.severity } };
    case "suppress":
      return { tag: "suppress", val: action.reason };
    default:
      return { tag: "wake-after", val: action.seconds };
  }
}

/** `route`: the plugin's decision; an exception becomes the call's error (`err`). */
export function route(group) {
  let actions;
  try {
    actions = decide(groupIn(group));
  } catch (failure) {
    const name = failure?.name ?? "Error";
    throw `${name}: ${failure?.message ?? String(failure)}`.slice(0, 1000);
  }
  return actions.map(actionOut);
}

/** `identity`: the labels that identify an alert, or undefined for all of them. */
export function identity(labels) {
  const kept = identify(labelsIn(labels));
  return kept === undefined ? undefined : { text: kept.text, ends: kept.ends };
}
