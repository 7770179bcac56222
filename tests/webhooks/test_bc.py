"""wcbc.webhooks.bc: the notifications of one POST are stored in one transaction."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from wcbc.core.state import State
from wcbc.webhooks.app import make_app
from wcbc.webhooks.bc import store_notifications

SECRET = "client-state-" + "x" * 20


def post(app: object, entries: list[dict]) -> str:
    payload = json.dumps({"value": entries}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/business-central",
               "CONTENT_LENGTH": str(len(payload)), "wsgi.input": io.BytesIO(payload)}
    status: list[str] = []
    app(environ, lambda s, h: status.append(s))  # type: ignore[operator]
    return status[0]


def entry(n: int) -> dict:
    return {"clientState": SECRET, "changeType": "updated", "resource": f"items({n})"}


class _FailsOnSecondAdd(State):
    adds = 0

    def inbox_add(self, *args: object, **kwargs: object) -> int:
        self.adds += 1
        if self.adds == 2:
            raise OSError("disk full")
        return super().inbox_add(*args, **kwargs)  # type: ignore[arg-type]


def test_one_post_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    with _FailsOnSecondAdd(tmp_path / "state.db") as state:
        with pytest.raises(OSError):
            store_notifications(state, [entry(1), entry(2), entry(3)], {})
        assert state.inbox_backlog("business_central") == 0
        store_notifications(state, [entry(4), entry(5)], {"user-agent": "BC", "authorization": "x"})
        rows = state.inbox_list(source="business_central")
        assert [r["resource_id"] for r in rows] == ["items(4)", "items(5)"]
        assert all("clientState" not in json.loads(r["body"]) for r in rows)
        assert all(r["headers"] == {"user-agent": "BC"} for r in rows)


def test_a_post_of_many_entries_is_one_transaction(tmp_path: Path) -> None:
    with State(tmp_path / "state.db") as state:
        begins: list[str] = []
        state.db.conn.set_trace_callback(lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None)
        app = make_app(state=state, secret_provider=lambda: {"bc_client_state": SECRET})
        assert post(app, [entry(n) for n in range(5)]) == "202 Accepted"
        state.db.conn.set_trace_callback(None)
        assert state.inbox_backlog("business_central") == 5
        assert len(begins) == 1
