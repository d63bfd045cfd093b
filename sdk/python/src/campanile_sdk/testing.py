"""Unit-test plugins natively, with plain pytest: the same fake host as the Rust SDK's
`campanile_sdk::testing`.

Off the component, `config`, `log`, `state` and `now_ms` talk to a fake host: set its config
with `set_config`, its clock with `set_now_ms`, read what the plugin logged with `logs()` and
what it stored with `state()`. Installed, the SDK's pytest plugin calls `reset()` before every
test. Build inputs with `alert`, `resolved_alert`, `group`, `acknowledgement` and `sent`.

>>> from campanile_sdk import config, notify, testing
>>> testing.set_config({"pager": "pd"})
>>> group = testing.group([testing.alert({"alertname": "Down", "severity": "critical"})])
>>> notify(config.get_or("pager", group.receiver))
Notify(receiver='pd', title=None, body=None, severity=None)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from .labels import Labels
from .log import Level
from .model import Acknowledgement, Alert, AlertStatus, Group, NotifyReason, Sent

__all__ = [
    "DEFAULT_NOW_MS",
    "acknowledgement",
    "alert",
    "clear_logs",
    "group",
    "labels",
    "logs",
    "reset",
    "resolved_alert",
    "sent",
    "set_config",
    "set_now_ms",
    "state",
]

DEFAULT_NOW_MS = 1_700_000_000_000
"""The fake clock's time until `set_now_ms` is called: 2023-11-14T22:13:20Z, a Tuesday."""

# The host's limit on one key plus value, which the fake host enforces too.
_MAX_STATE_VALUE_BYTES = 64 * 1024

LabelsLike = Mapping[str, str] | Iterable[tuple[str, str]]


class _FakeHost:
    """The host functions, served from memory."""

    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.now: int = DEFAULT_NOW_MS
        self.lines: list[tuple[Level, str]] = []
        # key -> (value, expiry in ms or None)
        self.kept: dict[str, tuple[str, int | None]] = {}

    def log(self, level: str, message: str) -> None:
        print(f"[plugin {level}] {message}", file=sys.stderr)
        self.lines.append((Level(level), message))

    def config_get(self, key: str) -> str | None:
        return self.config.get(key)

    def config_keys(self) -> list[str]:
        return sorted(self.config)

    def now_ms(self) -> int:
        return self.now

    def _live(self, entry: tuple[str, int | None]) -> bool:
        expires = entry[1]
        return expires is None or expires > self.now

    def state_get(self, key: str) -> str | None:
        entry = self.kept.get(key)
        return entry[0] if entry is not None and self._live(entry) else None

    def state_set(self, key: str, value: str, ttl_seconds: int | None) -> str | None:
        size = len(key.encode()) + len(value.encode())
        if size > _MAX_STATE_VALUE_BYTES:
            return (
                f"key and value are {size} bytes; "
                f"the limit per value is {_MAX_STATE_VALUE_BYTES}"
            )
        expires = None if ttl_seconds is None else self.now + ttl_seconds * 1000
        self.kept[key] = (value, expires)
        return None

    def state_delete(self, key: str) -> None:
        self.kept.pop(key, None)


_FAKE = _FakeHost()


def _fake_host() -> _FakeHost:
    return _FAKE


def reset() -> None:
    """Empties the fake host's config, state and logs and sets its clock to DEFAULT_NOW_MS."""
    _FAKE.__init__()  # type: ignore[misc]


def set_config(entries: Mapping[str, str]) -> None:
    """Replaces the plugin's config table; `{}` empties it."""
    _FAKE.config = {str(k): str(v) for k, v in entries.items()}


def set_now_ms(now_ms: int) -> None:
    """Sets the fake clock, in ms since the Unix epoch."""
    _FAKE.now = now_ms


def logs() -> list[tuple[Level, str]]:
    """The lines logged so far, oldest first, as (level, message)."""
    return list(_FAKE.lines)


def clear_logs() -> None:
    """Forgets the lines logged so far."""
    _FAKE.lines.clear()


def state() -> dict[str, str]:
    """The plugin's live state on the fake host, sorted by key."""
    return {k: e[0] for k, e in sorted(_FAKE.kept.items()) if _FAKE._live(e)}


def labels(entries: LabelsLike = ()) -> Labels:
    """A label set of these names and values, given in any order."""
    return Labels(entries)


def alert(labels: LabelsLike, annotations: LabelsLike = ()) -> Alert:
    """A firing alert with these labels, starting at the fake clock's time, without end time
    or generator URL; its fingerprint is the FNV-1a hash of its sorted labels. The fields are
    plain attributes: change them as the test needs."""
    label_set = Labels(labels)
    return Alert(
        fingerprint=_fingerprint(label_set),
        status=AlertStatus.FIRING,
        labels=label_set,
        annotations=Labels(annotations),
        starts_at=_FAKE.now,
    )


def resolved_alert(labels: LabelsLike, annotations: LabelsLike = ()) -> Alert:
    """Like `alert`, but resolved one minute after it started."""
    made = alert(labels, annotations)
    made.status = AlertStatus.RESOLVED
    made.ends_at = made.starts_at + 60_000
    return made


def group(alerts: Iterable[Alert] = ()) -> Group:
    """A group of these alerts as the host would send it for a route `root` with receiver
    `default` grouping by nothing: firing alerts first, `common_labels` the labels all alerts
    share, reason FIRST, key `{}:{}`."""
    ordered = sorted(alerts, key=lambda a: not a.is_firing)
    common: Labels = Labels()
    if ordered:
        first, rest = ordered[0], ordered[1:]
        common = first.labels.filtered(lambda n, v: all(a.labels.get(n) == v for a in rest))
    return Group(
        key="{}:{}",
        route="root",
        receiver="default",
        group_labels=Labels(),
        common_labels=common,
        alerts=ordered,
    )


def acknowledgement(by: str, comment: str = "") -> Acknowledgement:
    """An acknowledgement by `by` at the fake clock's time, for `Group.acknowledged`."""
    return Acknowledgement(by=by, comment=comment, at=_FAKE.now)


def sent(receiver: str, reason: NotifyReason, ago_ms: int) -> Sent:
    """A record that `receiver` was told `ago_ms` before the fake clock's time, for
    `Group.sent`."""
    return Sent(receiver=receiver, reason=reason, at=_FAKE.now - ago_ms)


def _fingerprint(label_set: Labels) -> int:
    """FNV-1a (64 bits) of the sorted labels, each name and value followed by 0xff."""
    hash_ = 0xCBF29CE484222325
    for name, value in label_set.items():
        for part in (name, value):
            for byte in part.encode() + b"\xff":
                hash_ = ((hash_ ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return hash_
