// router(fn) and identity(fn): mark the functions the component exports. Both return `fn`
// unchanged, so a test calls it directly with a group from campanile-sdk/testing.

import { ACTION_KINDS } from "./actions.js";
import { Labels } from "./labels.js";

/** Throw it (or any error) from a router to answer with an error: the host logs the message
 * and notifies the route's own receiver instead. */
export class RouteError extends Error {}

const registered = { route: undefined, identity: undefined };

/** Marks `fn(group) => action | action[]` as the plugin's router. */
export function router(fn) {
  registered.route = fn;
  return fn;
}

/** Marks `fn(labels) => labels | undefined` as the plugin's identity function. */
export function identity(fn) {
  registered.identity = fn;
  return fn;
}

/** Calls the registered router and checks its answer: a list of actions. */
export function decide(group) {
  if (!registered.route) throw new RouteError("no function is marked with router()");
  const answer = registered.route(group);
  const actions = answer && ACTION_KINDS.has(answer.kind) ? [answer] : [...answer];
  for (const action of actions) {
    if (!action || !ACTION_KINDS.has(action.kind)) {
      throw new RouteError(`the router answered ${JSON.stringify(action)}, which is not an action`);
    }
  }
  return actions;
}

/** Calls the registered identity function, if any. */
export function identify(labels) {
  if (!registered.identity) return undefined;
  const kept = registered.identity(labels);
  if (kept === undefined || kept === null) return undefined;
  return kept instanceof Labels ? kept : new Labels(kept);
}
