"""wcbc.core.logs: stderr logging, text and JSON, always redacted."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from wcbc.core.errors import UsageError
from wcbc.core.logs import set_redactor, setup_logging
from wcbc.core.redact import Redactor

SECRET = "cs_not-a-real-secret-42"


def test_text_format_and_redaction() -> None:
    out = io.StringIO()
    setup_logging("info", "text", redactor=Redactor([SECRET]), stream=out)
    logging.getLogger("wcbc.test").info("calling with %s and %s", SECRET, "Authorization: Basic Y2s6Y3NfYWJj")
    line = out.getvalue().strip()
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO wcbc.test: calling with \*\*\* and Authorization: \*\*\*", line)


def test_json_format_with_extra_fields() -> None:
    out = io.StringIO()
    setup_logging("debug", "json", redactor=Redactor([SECRET]), stream=out)
    logging.getLogger("wcbc.http").warning(
        "retrying %s", "GET /orders", extra={"system": "woocommerce", "wait": 1.5, "secret_echo": SECRET,
                                             "body": {"access_token": "eyJabc.def.ghi", "n": 1}},
    )
    record = json.loads(out.getvalue())
    assert record["level"] == "warning"
    assert record["logger"] == "wcbc.http"
    assert record["message"] == "retrying GET /orders"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    assert record["system"] == "woocommerce" and record["wait"] == 1.5
    assert record["secret_echo"] == "***"
    assert record["body"] == {"access_token": "***", "n": 1}
    assert SECRET not in out.getvalue()


def test_exception_text_is_redacted() -> None:
    out = io.StringIO()
    setup_logging("info", "json", redactor=Redactor([SECRET]), stream=out)
    try:
        raise RuntimeError(f"bad key {SECRET}")
    except RuntimeError:
        logging.getLogger("wcbc").exception("failed")
    record = json.loads(out.getvalue())
    assert "RuntimeError: bad key ***" in record["exc"]
    assert SECRET not in out.getvalue()


def test_quiet_and_level() -> None:
    out = io.StringIO()
    setup_logging("debug", "text", quiet=True, stream=out)
    log = logging.getLogger("wcbc.q")
    log.info("hidden")
    log.warning("shown")
    assert "hidden" not in out.getvalue() and "shown" in out.getvalue()
    out2 = io.StringIO()
    setup_logging("error", stream=out2)
    log.warning("not at error level")
    assert out2.getvalue() == ""


def test_setup_replaces_previous_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging(stream=first)
    setup_logging(stream=second)
    logging.getLogger("wcbc").info("once")
    assert first.getvalue() == "" and second.getvalue().count("once") == 1


def test_bad_arguments() -> None:
    with pytest.raises(UsageError):
        setup_logging("loud")
    with pytest.raises(UsageError):
        setup_logging("info", "xml")


def test_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info")
    logging.getLogger("wcbc").info("to stderr")
    captured = capsys.readouterr()
    assert captured.out == "" and "to stderr" in captured.err


def test_set_redactor_after_setup() -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    set_redactor(Redactor([SECRET]))
    logging.getLogger("wcbc").info("late %s", SECRET, extra={"detail": SECRET})
    record = json.loads(out.getvalue())
    assert record["message"] == "late ***" and record["detail"] == "***"
