"""Alerts: e-mail and a chat webhook, sent when a run needs a human.

Printing to stderr is the caller's job; this module only sends what ``[alerts]`` configures:

* **E-mail** through :mod:`smtplib` to ``email_to`` (comma-separated for several) via ``smtp_host`` /
  ``smtp_port``, with STARTTLS unless ``smtp_starttls = false``. When ``smtp_user`` is set the password is
  read from the environment variable ``WCBC_SMTP_PASSWORD`` -- never from the configuration file, which
  is often world-readable or kept in version control. wcbc refuses to log in over a connection that is
  not encrypted unless the SMTP server is on the loopback interface (a local relay).
* **Chat webhook**: a POST of ``{"text": "<subject>\\n\\n<body>"}`` to ``webhook_url``. Slack incoming
  webhooks and Microsoft Teams incoming webhooks (connector style) both accept that shape. The URL
  itself is a credential (it embeds a token): only its host is ever logged or returned.
* **Heartbeat**: :func:`ping_heartbeat` GETs ``heartbeat_url`` (healthchecks.io / Uptime Kuma style) after
  a successful run, so that silence raises the alarm.

Both HTTP calls go through :class:`wcbc.adapters.http.HttpClient` (User-Agent, timeouts, TLS, one
classification), without retries (an alert is sent once, at the end of a run) and labelled by host only:
their URL paths embed tokens.

A failure to alert is logged at ERROR and never raised: an alert must not turn a run into a crash.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

import requests

from wcbc.adapters.http import HttpClient
from wcbc.core.config.paths import is_loopback_host
from wcbc.core.errors import RemoteError

log = logging.getLogger("wcbc.alerts")

SMTP_PASSWORD_ENV = "WCBC_SMTP_PASSWORD"  # noqa: S105 - the name of the variable, not a value
_MAX_TEXT = 30_000  # Slack truncates messages above ~40k characters; Teams refuses ~28 KB payloads


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _ssl_context(verify: str | bool) -> ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    context = ssl.create_default_context()
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _http(verify: str | bool, timeout: float, session: requests.Session | None) -> HttpClient:
    return HttpClient("alerts", verify=verify, timeout=timeout, max_retries=0, session=session)


def _failure(exc: RemoteError) -> str:
    """What went wrong, without the URL (its path is a credential)."""
    return f"answered HTTP {exc.status}" if exc.status is not None else f"failed: {type(exc).__name__}"


def _recipients(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def send_email(
    cfg_alerts: Any,
    subject: str,
    body: str,
    *,
    verify: str | bool = True,
    timeout: float = 20.0,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Send one e-mail; return ``"email:<recipients>"`` or None (not configured, or failed and logged)."""
    to = _recipients(getattr(cfg_alerts, "email_to", None))
    host = getattr(cfg_alerts, "smtp_host", None)
    if not to or not host:
        return None
    env = os.environ if env is None else env
    port = int(getattr(cfg_alerts, "smtp_port", 587) or 587)
    user = getattr(cfg_alerts, "smtp_user", None)
    starttls = bool(getattr(cfg_alerts, "smtp_starttls", True))
    sender = getattr(cfg_alerts, "email_from", None) or user or f"wcbc@{socket.gethostname()}"
    password = env.get(SMTP_PASSWORD_ENV) if user else None
    if user and not password:
        log.error("alert e-mail not sent: smtp_user is set but %s is empty", SMTP_PASSWORD_ENV)
        return None
    if user and not starttls and not is_loopback_host(host):
        log.error("alert e-mail not sent: refusing to send the SMTP password to %s without STARTTLS", host)
        return None

    message = EmailMessage()
    message["Subject"] = subject.replace("\r", " ").replace("\n", " ")[:200]
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="wcbc")
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                smtp.starttls(context=_ssl_context(verify))
                smtp.ehlo()
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message, from_addr=sender, to_addrs=to)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        # str(exc) of smtplib errors holds the server's reply, never our password
        log.error("alert e-mail to %s via %s:%s failed: %s: %s", ", ".join(to), host, port,
                  type(exc).__name__, str(exc)[:300])
        return None
    log.info("alert e-mail sent to %s", ", ".join(to))
    return "email:" + ",".join(to)


def send_chat(
    cfg_alerts: Any,
    subject: str,
    body: str,
    *,
    verify: str | bool = True,
    timeout: float = 20.0,
    session: requests.Session | None = None,
) -> str | None:
    """POST ``{"text": ...}`` to ``webhook_url``; return ``"webhook:<host>"`` or None."""
    url = getattr(cfg_alerts, "webhook_url", None)
    if not url:
        return None
    host = _host_of(url)
    text = f"{subject}\n\n{body}" if body else subject
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 20] + "\n... (truncated)"
    try:
        response = _http(verify, timeout, session).request(
            "POST", url, json_body={"text": text}, check=False, label=f"alert webhook on {host}")
    except RemoteError as exc:
        log.error("alert webhook to %s %s", host, _failure(exc))
        return None
    if not 200 <= response.status_code < 300:
        log.error("alert webhook to %s answered HTTP %s", host, response.status_code)
        return None
    log.info("alert webhook sent to %s", host)
    return f"webhook:{host}"


def send_alert(
    cfg_alerts: Any,
    subject: str,
    body: str,
    *,
    verify: str | bool = True,
    timeout: float = 20.0,
    env: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> list[str]:
    """Send ``subject``/``body`` everywhere ``[alerts]`` says; return what was sent (never raises).

    ``cfg_alerts`` is a :class:`wcbc.core.config.AlertsConfig`. ``verify`` is ``Config.verify()`` (CA bundle
    for the chat webhook and the SMTP STARTTLS). Returned entries look like ``"email:ops@example.com"``
    and ``"webhook:hooks.slack.com"``; an empty list means nothing was configured or everything failed.
    """
    sent: list[str] = []
    for attempt in (
        lambda: send_email(cfg_alerts, subject, body, verify=verify, timeout=timeout, env=env),
        lambda: send_chat(cfg_alerts, subject, body, verify=verify, timeout=timeout, session=session),
    ):
        try:
            result = attempt()
        except Exception:  # an alert must never crash the run that raised it
            log.exception("sending an alert failed unexpectedly")
            result = None
        if result:
            sent.append(result)
    return sent


def ping_heartbeat(
    cfg_alerts: Any,
    *,
    verify: str | bool = True,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> bool:
    """GET ``heartbeat_url`` (after a successful run); True when it answered 2xx. Never raises."""
    url = getattr(cfg_alerts, "heartbeat_url", None)
    if not url:
        return False
    host = _host_of(url)
    try:
        response = _http(verify, timeout, session).request("GET", url, check=False,
                                                           label=f"heartbeat on {host}")
    except RemoteError as exc:
        log.error("heartbeat to %s %s", host, _failure(exc))
        return False
    if not 200 <= response.status_code < 300:
        log.error("heartbeat to %s answered HTTP %s", host, response.status_code)
        return False
    return True
