"""Worker logging setup: one-JSON-object-per-line or text output, with registered secrets redacted to ***."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
import threading
from datetime import datetime, timezone
from typing import IO, Any

REDACTED = "***"
FORMATS = ("json", "text")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None

# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted as a field.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def register_secret(value: str) -> None:
    """Redact `value` (raw, repr and JSON-escaped spellings) from every log line formatted from now on."""
    if not isinstance(value, str):
        raise TypeError("register_secret expects str; encode key bytes (hex/base64) as they could be logged")
    if not value:
        return  # an empty "secret" would match everywhere
    global _pattern
    with _secrets_lock:
        _secrets.update(_spellings(value))
        # Longest first, so a secret that contains another is replaced whole, not piecewise.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _spellings(value: str) -> set[str]:
    """The secret as it may appear in a log line: raw, via %r/repr(), and each of those JSON-escaped."""
    as_repr = repr(value)[1:-1]  # exception messages and %r args double backslashes, escape quotes
    forms = {value, as_repr}
    return forms | {json.dumps(form, ensure_ascii=False)[1:-1] for form in forms}


def redact(text: str) -> str:
    """`text` with every registered secret replaced by ***."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(REDACTED, text)


def _clear_secrets_for_tests() -> None:
    """Forget all registered secrets (tests only: production never un-registers a secret)."""
    global _pattern
    with _secrets_lock:
        _secrets.clear()
        _pattern = None


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record so message, args, extras, exception and stack text carry no registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not make the secret escape via the error path
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Render the traceback now, so formatters reuse this redacted copy instead of re-rendering.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                record.__dict__[key] = redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception/stack if any."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS:
                payload.setdefault(key, value)  # the four core fields win over same-named extras
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        # Last line of defence: also catches secrets nested inside non-string extras (dicts, objects).
        return redact(json.dumps(payload, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """Human-readable `time level logger: message` lines, redacted after formatting."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _level_name(level: str | int) -> str | int:
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    if not isinstance(logging.getLevelName(name), int):
        raise ValueError(f"unknown log level {level!r}")
    return name


def logging_dict_config(fmt: str = "text", level: str | int = "INFO", stream: IO[str] | None = None) -> dict:
    """A logging.config.dictConfig dict for the root logger; also pass it to faust's Worker(logging_config=...)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
    formatter_class = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,  # faust/aiokafka loggers exist before we configure
        "filters": {"redact_secrets": {"()": SecretRedactingFilter},
                    "collapse_repeats": {"()": "pipeline.observability.log_throttle.RepeatCollapsingFilter"}},
        "formatters": {"anonpipe": {"()": formatter_class}},
        "handlers": {
            "anonpipe": {
                "class": "logging.StreamHandler",
                "stream": stream if stream is not None else "ext://sys.stderr",
                "formatter": "anonpipe",
                "filters": ["collapse_repeats", "redact_secrets"],
            }
        },
        "root": {"level": _level_name(level), "handlers": ["anonpipe"]},
    }


def configure_logging(fmt: str = "text", level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one redacting handler writing `fmt` lines to `stream` (stderr)."""
    logging.config.dictConfig(logging_dict_config(fmt, level, stream))
    logging.captureWarnings(True)  # warnings may quote config values; route them through the redactor


def install_redacting_excepthooks() -> None:
    """Route uncaught exceptions (main thread and other threads) through logging, so they are redacted too."""
    log = logging.getLogger("anonpipe.uncaught")

    def _log_uncaught(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit):  # same as the default hook: a thread exiting is not an error
            return
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


__all__ = [
    "FORMATS",
    "REDACTED",
    "JsonFormatter",
    "SecretRedactingFilter",
    "TextFormatter",
    "configure_logging",
    "install_redacting_excepthooks",
    "logging_dict_config",
    "redact",
    "register_secret",
]
