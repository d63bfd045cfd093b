// Write campanile routing plugins in JavaScript or TypeScript. See README.md and index.d.ts.

export { Labels } from "./labels.js";
export { Alert, Group, NotifyReason, Severity, moreUrgent, severityFromLabel } from "./model.js";
export { notify, suppress, wakeAfter } from "./actions.js";
export { Matcher } from "./matcher.js";
export { config, log, state, nowMs, StateError } from "./services.js";
export { router, identity, RouteError } from "./router.js";

/** The WIT world this SDK builds components for. */
export const CONTRACT = "campanile:router@0.3.0";
