"""The [orders] keys of refunds and cancellations, read into RefundPolicy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_config import MINIMAL, error_for, with_extra, write
from wcbc.core.config import load_config
from wcbc.sync.refunds.plan import RefundPolicy


def policy(tmp_path: Path, orders: str) -> RefundPolicy:
    return RefundPolicy.from_config(load_config(write(tmp_path, with_extra(f"[orders]\n{orders}"))))


def test_defaults_and_keys(tmp_path: Path) -> None:
    default = RefundPolicy.from_config(load_config(write(tmp_path, MINIMAL)))
    assert (default.on_cancel, default.post, default.refund_account, default.amount_account) == (
        "undo",
        False,
        None,
        None,
    )
    assert policy(tmp_path, 'target = "posted_invoice"').post is True
    assert policy(tmp_path, 'target = "posted_invoice"\npost_credit_memos = "never"').post is False
    assert policy(tmp_path, 'post_credit_memos = "always"').post is True
    chosen = policy(tmp_path, 'on_cancel = "report"\nrefund_account = "6640"\nrefund_amount_account = "6630"')
    assert (chosen.on_cancel, chosen.refund_account, chosen.amount_account) == ("report", "6640", "6630")


@pytest.mark.parametrize("line", ['on_cancel = "delete"', 'post_credit_memos = "yes"'])
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, line: str) -> None:
    err = error_for(tmp_path, with_extra(f"[orders]\n{line}"))
    assert line.split(" ")[0] in str(err)
