// `severity-router` in TypeScript: picks the receiver from the most urgent `severity` label of
// the group, exactly as the Rust example (plugins/severity-router) does.
//
// | highest severity            | receiver: config key |
// |-----------------------------|----------------------|
// | critical, page, error       | pager                |
// | warning                     | chat                 |
// | info                        | email                |
// | missing or unknown          | default              |
//
// Only firing alerts count, unless none fires any more. A key that is not set (or empty) falls
// back to the group's own receiver, logged as a warning for pager, chat and email. The
// notification's severity is the one routed on (page counts as critical).

import { config, type Group, log, notify, type Notify, router, type Severity } from "campanile-sdk";

const RECEIVER_KEY: Record<Severity, string> = {
  critical: "pager",
  error: "pager",
  warning: "chat",
  info: "email",
};

export const route = router((group: Group): Notify => {
  const severity = group.highestSeverity;
  const key = severity === undefined ? "default" : RECEIVER_KEY[severity];
  let receiver = config.get(key);
  if (receiver === undefined || receiver.trim() === "") {
    const routedOn = severity ?? "no known severity";
    const message = `config key \`${key}\` is not set: sending group ${group.key} (${routedOn}) to the route's receiver \`${group.receiver}\``;
    if (severity === undefined) log.debug(message);
    else log.warn(message);
    receiver = group.receiver;
  }
  return notify(receiver, { severity });
});
