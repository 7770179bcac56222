"""The sandbox's own server plumbing (wcbc/sandbox/core.py)."""

from __future__ import annotations

import socket

import requests

from wcbc.sandbox.core import Faults, Request, Response, SandboxServer, generate_ca, json_response


class _Echo:
    faults = Faults()

    def handle(self, request: Request) -> Response:
        return json_response(200, {"path": request.path})

    def fault_response(self, status: int, retry_after: int | None) -> Response:
        return json_response(status, {"fault": status})


def test_a_client_that_never_completes_tls_does_not_stall_the_server(tmp_path) -> None:
    tls = generate_ca(tmp_path)
    with SandboxServer(_Echo(), tls=tls) as server:
        stalled = socket.create_connection((server.host, server.port))  # never sends a ClientHello
        try:
            answer = requests.get(server.url + "/x", verify=str(tls.ca_path), timeout=5)
            assert answer.status_code == 200 and answer.json() == {"path": "/x"}
        finally:
            stalled.close()


def test_admin_routes_are_never_faulted(tmp_path) -> None:
    tls = generate_ca(tmp_path)
    app = _Echo()
    app.faults = Faults(share_503=1.0)
    with SandboxServer(app, tls=tls) as server:
        assert requests.get(server.url + "/x", verify=str(tls.ca_path), timeout=5).status_code == 503
        assert (
            requests.get(server.url + "/__admin/state", verify=str(tls.ca_path), timeout=5).status_code == 200
        )
