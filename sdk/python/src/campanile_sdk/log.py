"""Write to the host's log; every line is tagged with the plugin's name.

>>> from campanile_sdk import log, testing
>>> log.info("routing started")
>>> log.warn("config key 'pager' is missing")
>>> [level for level, _ in testing.logs()][-2:]
[<Level.INFO: 'info'>, <Level.WARN: 'warn'>]

Off the component the lines go to the fake host (`testing.logs()`) and to standard error.
"""

from __future__ import annotations

import enum

from ._host import backend

__all__ = ["Level", "log", "trace", "debug", "info", "warn", "error"]


class Level(enum.Enum):
    """Log levels, as in the host's own log; they compare by importance (TRACE smallest)."""

    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return _ORDER.index(self) < _ORDER.index(other)


_ORDER = list(Level)


def log(level: Level, message: str) -> None:
    """Writes one line at `level` to the host's log."""
    backend().log(level.value, str(message))


def trace(message: str) -> None:
    """Very detailed diagnostics, usually filtered out by the host."""
    log(Level.TRACE, message)


def debug(message: str) -> None:
    """Diagnostics for whoever debugs the plugin."""
    log(Level.DEBUG, message)


def info(message: str) -> None:
    """What happened, for an operator reading the log."""
    log(Level.INFO, message)


def warn(message: str) -> None:
    """Something is off but routing goes on (a missing config key, say)."""
    log(Level.WARN, message)


def error(message: str) -> None:
    """Something failed."""
    log(Level.ERROR, message)
