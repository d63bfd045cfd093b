"""A hostile routing plugin in Python, for the host's fault tests (`tests/plugin_platform/
faults.rs`): it does what its `mode` config key says.

| mode        | does                                                               |
|-------------|--------------------------------------------------------------------|
| `ok`        | notify the config key `receiver` (or the group's receiver), titled |
|             | `python ok N`, N counting the calls this instance served           |
| `loop`      | loop forever                                                       |
| `memory`    | allocate until the memory limit stops it                           |
| `exception` | raise ZeroDivisionError                                            |
"""

from campanile_sdk import Group, config, notify, router

# Calls this instance served: shows whether the host kept it warm (a plugin that routes by its
# globals would be wrong; this one only reports them).
calls = 0


@router
def route(group: Group):  # type: ignore[no-untyped-def]
    global calls
    calls += 1
    mode = config.get("mode")
    if mode == "loop":
        while True:
            pass
    if mode == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    if mode == "exception":
        return 1 // 0
    return notify(config.get_or("receiver", group.receiver), title=f"python {mode} {calls}")
