"""`severity-router` in Python: picks the receiver from the most urgent `severity` label of
the group, exactly as the Rust example (`plugins/severity-router`) does.

| highest severity             | receiver: config key |
|------------------------------|----------------------|
| `critical`, `page`, `error`  | `pager`              |
| `warning`                    | `chat`               |
| `info`                       | `email`              |
| missing or unknown           | `default`            |

Only firing alerts count, unless none fires any more. A key that is not set (or empty) falls
back to the group's own receiver, logged as a warning for `pager`, `chat` and `email`. The
notification's severity is the one routed on (`page` counts as critical).
"""

from campanile_sdk import Group, Notify, Severity, config, log, notify, router

RECEIVER_KEY = {
    Severity.CRITICAL: "pager",
    Severity.ERROR: "pager",
    Severity.WARNING: "chat",
    Severity.INFO: "email",
}


@router
def route(group: Group) -> Notify:
    severity = group.highest_severity
    key = RECEIVER_KEY[severity] if severity is not None else "default"
    receiver = config.get(key)
    if receiver is None or not receiver.strip():
        routed_on = severity.value if severity is not None else "no known severity"
        message = (
            f"config key `{key}` is not set: sending group {group.key} ({routed_on}) "
            f"to the route's receiver `{group.receiver}`"
        )
        if severity is not None:
            log.warn(message)
        else:
            log.debug(message)
        receiver = group.receiver
    return notify(receiver, severity=severity)
