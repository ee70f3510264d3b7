"""Logging tests: JSON lines parse with the documented fields, and registered secrets never reach the output."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading

import pytest

from pipeline.observability import logging as obslog

SECRET = 'sasl-P@ss"w\\rd-7f3a'  # quote and backslash: JSON escapes them, the redactor must still match


@pytest.fixture(autouse=True)
def restore_logging():
    """Give each test a clean redactor and restore the root logger and excepthooks afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    obslog._clear_secrets_for_tests()
    yield
    obslog._clear_secrets_for_tests()
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


def _configured(fmt: str, level: str = "DEBUG") -> io.StringIO:
    stream = io.StringIO()
    obslog.configure_logging(fmt, level, stream=stream)
    return stream


def _json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_json_lines_parse_with_core_and_extra_fields():
    stream = _configured("json")
    logging.getLogger("pipeline.worker").info("flushed %d rows", 12, extra={"topic": "telemetry.raw", "partition": 3})
    logging.getLogger("aiokafka").warning("rebalancing")
    first, second = _json_lines(stream)
    assert first["level"] == "INFO" and first["logger"] == "pipeline.worker"
    assert first["message"] == "flushed 12 rows"
    assert first["topic"] == "telemetry.raw" and first["partition"] == 3
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second == {**second, "level": "WARNING", "logger": "aiokafka", "message": "rebalancing"}


def test_json_exception_is_a_field_on_the_same_line():
    stream = _configured("json")
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("x").exception("lookup failed")
    (record,) = _json_lines(stream)
    assert "KeyError: 'missing'" in record["exception"]
    assert record["message"] == "lookup failed"


def test_level_filters_and_is_case_insensitive():
    stream = _configured("json", level="warning")
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").error("shown")
    assert [r["message"] for r in _json_lines(stream)] == ["shown"]


@pytest.mark.parametrize("fmt, level", [("xml", "INFO"), ("json", "LOUD")])
def test_bad_format_or_level_is_rejected(fmt, level):
    with pytest.raises(ValueError):
        obslog.configure_logging(fmt, level, stream=io.StringIO())


@pytest.mark.parametrize("fmt", obslog.FORMATS)
def test_registered_secret_never_appears_anywhere_in_output(fmt):
    stream = _configured(fmt)
    obslog.register_secret(SECRET)
    log = logging.getLogger("pipeline.keys")
    log.info("connecting with password " + SECRET)  # in the message itself
    log.info("connecting with %s", SECRET)  # in the args
    log.info("extra", extra={"password": SECRET, "config": {"sasl": {"password": SECRET}}})  # nested extras
    try:
        raise PermissionError(f"auth failed for secret {SECRET!r} / {SECRET}")
    except PermissionError:
        log.exception("broker rejected %r", SECRET)  # exception text and repr() of the secret
    log.info("stack", stack_info=True)
    output = stream.getvalue()
    assert output.count(obslog.REDACTED) >= 5  # message, arg, %r arg, exception (twice); json adds extras
    assert SECRET not in output
    assert json.dumps(SECRET)[1:-1] not in output  # nor its JSON-escaped spelling
    assert "P@ss" not in output
    if fmt == "json":
        _json_lines(stream)  # redaction must not break the JSON


def test_secret_registered_after_configuration_still_redacted_by_other_handlers():
    """A handler that is not ours (faust's) still gets redacted text once our filter ran first on the record."""
    stream = _configured("text")
    foreign = io.StringIO()
    foreign_handler = logging.StreamHandler(foreign)
    foreign_handler.setFormatter(logging.Formatter("%(message)s %(exc_text)s"))
    logging.getLogger().addHandler(foreign_handler)
    obslog.register_secret(SECRET)
    try:
        raise ValueError(SECRET)
    except ValueError:
        logging.getLogger("x").exception("bad %s", SECRET)
    assert SECRET not in stream.getvalue()
    assert SECRET not in foreign.getvalue() and obslog.REDACTED in foreign.getvalue()


def test_longer_secret_containing_a_shorter_one_is_removed_whole():
    obslog.register_secret("abcd")
    obslog.register_secret("xxabcdyy")
    assert obslog.redact("k=xxabcdyy;j=abcd") == "k=***;j=***"


def test_empty_secret_is_ignored_and_non_str_rejected():
    obslog.register_secret("")
    assert obslog.redact("nothing to hide") == "nothing to hide"
    with pytest.raises(TypeError):
        obslog.register_secret(b"key-bytes")  # type: ignore[arg-type]


def test_uncaught_exception_in_thread_is_logged_redacted():
    stream = _configured("json")
    obslog.register_secret(SECRET)
    obslog.install_redacting_excepthooks()

    def boom() -> None:
        raise RuntimeError(f"leaked {SECRET}")

    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()
    (record,) = _json_lines(stream)
    assert record["level"] == "CRITICAL" and "RuntimeError: leaked ***" in record["exception"]
    assert SECRET not in stream.getvalue()


def test_dict_config_is_usable_by_faust_worker():
    """The lead passes this dict to faust's Worker(logging_config=...), which calls dictConfig on it."""
    stream = io.StringIO()
    config = obslog.logging_dict_config("json", "INFO", stream=stream)
    logging.config.dictConfig(config)
    obslog.register_secret(SECRET)
    logging.getLogger("faust").info("sasl password=%s", SECRET)
    assert _json_lines(stream)[0]["message"] == "sasl password=***"
