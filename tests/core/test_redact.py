"""wcbc.core.redact: an upstream error echoing our Authorization header leaks nothing, wherever it goes
(the redacted text, the state DB's run summary, journal and records, the log output)."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import pytest

from wcbc.core.logs import setup_logging
from wcbc.core.redact import MASK, Redactor
from wcbc.core.state import State

KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
# a client secret with no recognisable shape: only the redactor's list of secrets can catch it
PLAIN = "Tr0ub4dor&3-correct-horse-battery"


def basic_forms(user: str, password: str) -> dict[str, str]:
    """HTTP Basic of ``user:password`` in every base64 spelling."""
    raw = f"{user}:{password}".encode()
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return {"standard": std, "standard unpadded": std.rstrip("="), "url-safe": url,
            "url-safe unpadded": url.rstrip("=")}


def leaked(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Every secret and every base64 credential found in ``text`` (also their first 12 characters)."""
    found = [s for s in (KEY, SECRET, PLAIN, *extra) if s in text]
    for user, password in ((KEY, SECRET), ("wcbc", PLAIN), (KEY, PLAIN)):
        for name, form in basic_forms(user, password).items():
            body = form.rstrip("=")
            if body in text or body[8:20] in text:
                found.append(f"base64 {name} of {user[:3]}:{password[:3]}")
    return found


def echo_bodies() -> dict[str, str]:
    """What an upstream that echoes the request's headers sends back, in the shapes seen in the wild."""
    out: dict[str, str] = {}
    for name, form in basic_forms(KEY, SECRET).items():
        out[f"json {name}"] = json.dumps(
            {"code": "rest_forbidden", "message": "Sorry, you cannot list resources.",
             "data": {"status": 401, "headers": {"authorization": [f"Basic {form}"]}}})
        out[f"escaped json {name}"] = json.dumps({"error": json.dumps({"Authorization": f"Basic {form}"})})
        out[f"php dump {name}"] = (f"Array\n(\n    [HTTP_AUTHORIZATION] => Basic {form}\n"
                                   "    [HTTP_HOST] => shop\n)")
        out[f"bare token {name}"] = f"invalid credential {form} for user"
        out[f"in a url {name}"] = f"GET https://shop/wp-json/?auth={form}&page=2 failed"
    plain = basic_forms("wcbc", PLAIN)["standard"]
    out["repr with another scheme"] = f"{{'Authorization': 'Negotiate {plain}', 'Host': 'x'}}"
    out["header line, any scheme"] = f"authorization: Digest username=\"wcbc\", response=\"{PLAIN}\""
    out["proxy header"] = f"Proxy-Authorization: Basic {plain}\r\nHost: x"
    out["bearer"] = f'{{"headers": {{"Authorization": "Bearer {PLAIN}"}}}}'
    return out


@pytest.mark.parametrize("name", sorted(echo_bodies()))
def test_echoed_authorization_is_redacted(name: str) -> None:
    body = echo_bodies()[name]
    assert leaked(body)  # the probe finds the credential before redaction
    out = Redactor([KEY, SECRET, PLAIN])(f"woocommerce: GET /wp-json/wc/v3/orders (HTTP 401): {body}")
    assert leaked(out) == [], out
    assert MASK in out and "HTTP 401" in out


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "user-name:"])
def test_secret_inside_any_base64_is_redacted_at_every_alignment(prefix: str) -> None:
    red = Redactor([SECRET])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(f"{prefix}{SECRET}".encode()).decode()
        for form in (encoded, encoded.rstrip("=")):
            out = red(f"x {form} y")
            assert out == f"x {MASK} y", (prefix, form, out)


def test_woocommerce_basic_credential_is_masked_without_knowing_the_secrets() -> None:
    red = Redactor()  # as in the logs before the vault is open
    for form in basic_forms(KEY, SECRET).values():
        assert leaked(red(f"echo {form} end")) == []
    ordinary = 'id 8c4b2f9e-1a2b-4c3d-9e8f-0123456789ab etag W/"JzQ0O0VnQUFBQUo3"'
    assert red(ordinary) == ordinary  # base64-looking text that holds no key stays


def test_ordinary_text_survives() -> None:
    red = Redactor([KEY, SECRET, PLAIN])
    for text in ("The Authorization header was refused", "authorization failed for order 16",
                 "order 16 sent as SO-1001 (externalDocumentNumber WC-16)",
                 "Basic setup done", "GET /companies(f03f6225-081c-ec11-bb77-000d3abcf3e1)/items?$top=20000"):
        assert red(text) == text


def test_state_redacts_what_it_stores(tmp_path: Path) -> None:
    body = echo_bodies()["json standard"]
    with State(tmp_path / "wcbc.db", redact=Redactor([KEY, SECRET, PLAIN])) as st:
        run = st.run_start("sync-orders")
        st.record_fail("order:16", "order", "16", f"woocommerce: 401: {body}", max_attempts=3)
        st.journal("order:16", "answered", {"status": 401, "body": body}, run_id=run)
        st.journal("order:16", "answered", body, run_id=run)
        st.conflict_add("order:16", {"body": body})
        st.run_finish(run, "error", {"error": f"woocommerce: {body}", "digest": basic_forms("wcbc", PLAIN)})
        stored = json.dumps([st.last_runs(), st.records(), st.journal_for("order:16"), st.conflicts()],
                            default=str)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("wcbc.db"))
    assert leaked(stored) == [], stored
    assert leaked(raw.decode("latin-1")) == []
    assert "rest_forbidden" in stored and MASK in stored  # the error itself is kept


def test_state_without_a_redactor_still_masks_credential_carriers(tmp_path: Path) -> None:
    with State(tmp_path / "wcbc.db") as st:
        st.run_finish(st.run_start("doctor"), "error", {"error": echo_bodies()["php dump standard"]})
        st.journal("order:1", "answered", echo_bodies()["json url-safe unpadded"])
        text = json.dumps([st.last_runs(), st.journal_for("order:1")])
    assert leaked(text) == [] and "HTTP_AUTHORIZATION" in text


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_output_is_redacted(fmt: str) -> None:
    stream = io.StringIO()
    handler = setup_logging("debug", fmt, redactor=Redactor([KEY, SECRET, PLAIN]), stream=stream)
    try:
        log = logging.getLogger("wcbc.test")
        for body in echo_bodies().values():
            log.error("woocommerce refused the call: %s", body, extra={"body": body})
            try:
                raise RuntimeError(body)
            except RuntimeError:
                log.exception("with traceback")
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert output.count("woocommerce refused the call") == len(echo_bodies())
    assert leaked(output) == []


def test_logs_before_the_vault_is_open_are_pattern_redacted() -> None:
    stream = io.StringIO()
    handler = setup_logging("debug", "text", stream=stream)  # no redactor yet, as the CLI starts
    try:
        for body in echo_bodies().values():
            logging.getLogger("wcbc.test").warning("answer: %s", body)
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert output.count("answer: ") == len(echo_bodies())
    assert leaked(output) == []  # every carrier is masked, even of a secret nobody told the redactor
