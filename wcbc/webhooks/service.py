"""``wcbc serve`` as a process: waitress serving :class:`~wcbc.webhooks.app.WebhookApp` plus one worker
thread that drains the inbox, and :func:`service_from_context`, the one place a Service is wired from a
:class:`~wcbc.ops.context.Context` (``wcbc serve`` and ``wcbc demo`` both use it)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wcbc.core.errors import WcbcError
from wcbc.core.redact import Redactor
from wcbc.core.time import iso_z, utcnow
from wcbc.sync.common.cursors import SERVE_LAST_PROCESSED
from wcbc.webhooks.app import SecretProvider, StateFactory, make_app
from wcbc.webhooks.guard import Guard, Limits, fit_open_files

if TYPE_CHECKING:
    from wcbc.core.state import State

log = logging.getLogger("wcbc.server")

Processor = Callable[["State"], dict]
HEARTBEAT_S = 600.0


def service_from_context(
    ctx: Any,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    interval: float | None = None,
    metrics_file: Path | None = None,
) -> Service:
    """The Service of ``wcbc serve`` for ``ctx``: one State per thread on the configured state file, the
    webhook secrets read from the vault per request, and the worker running the syncs through
    :func:`wcbc.webhooks.worker.make_processor`. Unset arguments come from ``[serve]``."""
    from wcbc.core.state import State
    from wcbc.ops.runs import redactor_of
    from wcbc.webhooks.worker import make_processor

    cfg = ctx.config.serve
    vault = ctx.vault
    extra: dict[str, Any] = {} if interval is None else {"interval": interval}
    return Service(
        # each thread's State registers this host like any command (--take-over included)
        state_factory=lambda: State.from_config(ctx.config.state, redact=ctx.redactor,
                                                take_over=getattr(ctx, "take_over", False)),
        secret_provider=lambda: {
            "woo_webhook_secret": vault.get("woo_webhook_secret"),
            "bc_client_state": vault.get("bc_client_state"),
        },
        processor=make_processor(ctx, metrics_file=metrics_file),
        redact=redactor_of(ctx),
        host=host or cfg.host,
        port=cfg.port if port is None else port,
        workers=workers or cfg.workers,
        max_body=cfg.max_body,
        max_backlog=cfg.max_backlog,
        connection_limit=cfg.connection_limit,
        channel_timeout=cfg.channel_timeout,
        request_timeout=cfg.request_timeout,
        backlog=cfg.backlog,
        **extra,
    )


def inbox_processor(
    handlers: Mapping[str, Callable[[State, dict], Any]],
    *,
    worker: str,
    limit: int = 100,
    lease_seconds: int = 300,
) -> Processor:
    """A processor that claims inbox rows per source (atomically, with a lease) and hands each to its
    handler: ``handlers = {"woocommerce": fn(state, row), "business_central": fn(state, row)}``.

    A handler that returns marks the row done; one that raises marks it failed with the error's message
    (WcbcError messages are secret-free by contract; other exceptions are logged with their traceback).
    If the process dies mid-row, the row stays claimed until its lease expires and is then claimable
    again (by serve or by a cron run). Returns ``{"claimed": n, "done": n, "failed": n}``.
    """

    def process(state: State) -> dict:
        summary = {"claimed": 0, "done": 0, "failed": 0}
        for source, handler in handlers.items():
            rows = state.inbox_claim(source, limit=limit, worker=worker, lease_seconds=lease_seconds)
            summary["claimed"] += len(rows)
            for row in rows:
                inbox_id = int(row["id"])
                try:
                    handler(state, row)
                except WcbcError as exc:
                    state.inbox_fail(inbox_id, exc.message[:1000])
                    summary["failed"] += 1
                    log.warning("inbox:%d (%s) failed: %s", inbox_id, source, exc.message)
                except Exception as exc:
                    state.inbox_fail(inbox_id, f"unexpected {type(exc).__name__}")
                    summary["failed"] += 1
                    log.exception("inbox:%d (%s) failed unexpectedly", inbox_id, source)
                else:
                    state.inbox_done(inbox_id)
                    summary["done"] += 1
        return summary

    return process


# ---------------------------------------------------------------------------- the service


class Service:
    """waitress serving :class:`WebhookApp` + one worker thread calling ``processor(state)``.

    The worker runs at start (a backlog left by a previous run is drained first), whenever a request
    stored something, and every ``interval`` seconds. When the processor's result says ``claimed > 0``
    it is called again at once (up to ``max_rounds`` times in a row) so that a large backlog drains
    without waiting for the interval. Exceptions from the processor are logged; the worker carries on.
    """

    def __init__(
        self,
        *,
        state_factory: StateFactory,
        secret_provider: SecretProvider,
        processor: Processor | None,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 4,
        max_body: int = 1_048_576,
        max_backlog: int = 100_000,
        interval: float = 60.0,
        connection_limit: int = Limits.connection_limit,
        channel_timeout: int = Limits.channel_timeout,
        request_timeout: int = Limits.request_timeout,
        backlog: int = Limits.backlog,
        trusted_proxy: str | None = None,
        max_rounds: int = 50,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.workers = max(1, workers)
        self.interval = interval
        self.limits = Limits(connection_limit=connection_limit, channel_timeout=channel_timeout,
                             request_timeout=request_timeout, backlog=backlog, threads=self.workers)
        self.guard: Guard | None = None
        self.trusted_proxy = trusted_proxy
        self.max_rounds = max(1, max_rounds)
        self.redact = redact or Redactor()
        self.processor = processor
        self.state_factory = state_factory
        self.app = make_app(state_factory=state_factory, secret_provider=secret_provider,
                            max_body=max_body, max_backlog=max_backlog, on_stored=self.trigger,
                            health_extra=self._health_extra)
        self.runs = 0
        self.last_result: dict | None = None
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None
        self._bound: tuple[str, int] | None = None
        self._worker_state: State | None = None
        self._last_heartbeat: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Service:
        """Open the state (raising StateError here, not in a thread), bind, start serving and working."""
        import waitress

        # Opened before any thread: a fresh state file is created and migrated exactly once.
        self._worker_state = self.state_factory()

        self.limits = fit_open_files(self.limits)
        kwargs: dict[str, Any] = {
            "host": self.host, "port": self.port, **self.limits.waitress_options(),
            "max_request_body_size": self.app.bc_max_body,
            "ident": "wcbc", "clear_untrusted_proxy_headers": True,
        }
        if self.trusted_proxy:
            kwargs.update(trusted_proxy=self.trusted_proxy, trusted_proxy_headers={"x-forwarded-for"})
        self._server = waitress.create_server(self.app, **kwargs)
        self.guard = Guard(self.limits)
        self.guard.install(self._server)
        if hasattr(self._server, "effective_port"):
            self._bound = (str(self._server.effective_host), int(self._server.effective_port))
        else:  # several sockets (a host name resolving to IPv4 and IPv6): report the first
            host, port = self._server.effective_listen[0][:2]
            self._bound = (str(host), int(port))
        self._server_thread = threading.Thread(target=self._serve, name="wcbc-serve", daemon=True)
        self._server_thread.start()
        self._worker_thread = threading.Thread(target=self._work, name="wcbc-worker", daemon=True)
        self._worker_thread.start()
        log.info("serving webhooks on %s", self.url)
        return self

    @property
    def url(self) -> str:
        if self._bound is None:
            raise RuntimeError("Service not started")
        host, port = self._bound
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:
            if not self._stopping.is_set():
                log.exception("the HTTP server stopped unexpectedly")

    def trigger(self) -> None:
        """Wake the worker (called after each stored delivery)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, let the worker finish its current round, close the states."""
        if self._server is None:
            return
        self._stopping.set()
        self._wake.set()
        from waitress import wasyncore

        server, self._server = self._server, None
        try:
            server.task_dispatcher.shutdown(timeout=timeout)
        except Exception:
            log.debug("waitress task dispatcher shutdown", exc_info=True)
        socket_map = getattr(server, "_map", None) or getattr(server, "map", None)

        def close_sockets() -> None:
            try:
                if socket_map is not None:
                    wasyncore.close_all(socket_map)
                else:
                    server.close()
            except Exception:
                log.debug("closing waitress sockets", exc_info=True)

        trigger = getattr(server, "trigger", None)
        if trigger is not None and self._server_thread is not None and self._server_thread.is_alive():
            # run the close inside the event loop thread: its loop then ends at once (empty socket map)
            try:
                trigger.pull_trigger(close_sockets)
                self._server_thread.join(timeout)
            except OSError:  # the trigger's pipe is already closed: close from here (below)
                log.debug("waitress trigger unusable while stopping", exc_info=True)
        if self._server_thread is not None and self._server_thread.is_alive():
            close_sockets()
            self._server_thread.join(timeout)
        if self._worker_thread is not None:
            self._worker_thread.join(timeout)
        self.app.close()
        log.info("webhook server stopped")

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """For ``wcbc serve``: start, block until SIGINT/SIGTERM, stop cleanly."""
        import signal

        done = threading.Event()

        def _stop(signum: int, frame: Any) -> None:
            done.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not done.wait(1.0):
                if self._worker_thread is not None and not self._worker_thread.is_alive():
                    log.error("the inbox worker died; stopping")
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ------------------------------------------------------------------ worker

    def _health_extra(self) -> dict[str, Any]:
        alive = self._worker_thread is not None and self._worker_thread.is_alive()
        return {"worker": "running" if alive else "stopped", "worker_runs": self.runs,
                "last_error": self.last_error}

    def _work(self) -> None:
        state: State | None = self._worker_state
        try:
            if state is None:
                state = self.state_factory()
            first = True
            while not self._stopping.is_set():
                if not first:
                    self._wake.wait(self.interval)
                first = False
                self._wake.clear()
                if self._stopping.is_set():
                    break
                self._run_rounds(state)
        except Exception:
            log.exception("the inbox worker cannot start")
        finally:
            if state is not None:
                try:
                    state.close()
                except Exception:
                    log.debug("closing the worker's state", exc_info=True)

    def _heartbeat(self, state: State) -> None:
        """Tell copies of the state file that this host is using it, even on days without deliveries
        (runs do it too; at most every ``HEARTBEAT_S``)."""
        now = time.monotonic()
        if self._last_heartbeat is not None and now - self._last_heartbeat < HEARTBEAT_S:
            return
        self._last_heartbeat = now
        try:
            state.heartbeat()
        except WcbcError as exc:
            log.error("cannot record this host's activity in the state file: %s", exc.message)

    def _run_rounds(self, state: State) -> None:
        self._heartbeat(state)
        if self.processor is None:
            return
        for _ in range(self.max_rounds):
            try:
                result = self.processor(state) or {}
            except WcbcError as exc:  # e.g. StateError (disk full): said plainly, the worker carries on
                self.last_error = self.redact(f"{type(exc).__name__}: {exc}")[:500]  # shown by /healthz
                log.error("inbox processing failed: %s (retried in %.0f s or at the next delivery)",
                          exc.message, self.interval)
                return
            except Exception as exc:
                self.last_error = type(exc).__name__
                log.exception("inbox processing failed")
                return
            self.runs += 1
            self.last_result = result
            self.last_error = None
            try:
                state.cursor_set(SERVE_LAST_PROCESSED, iso_z(utcnow()))
            except Exception:
                log.exception("cannot record the last processing time")
            claimed = result.get("claimed", 0) if isinstance(result, Mapping) else 0
            if not isinstance(claimed, int) or claimed <= 0 or self._stopping.is_set():
                return

