"""`wcbc demo`: the whole story on the built-in sandbox, with every step checked.

It starts the sandbox in-process (simulated WooCommerce, Entra ID and Business Central over HTTPS on
127.0.0.1), writes a temporary config and vault (the master key comes from the environment, so the
user's OS keyring is never touched), starts `wcbc serve` on a free loopback port, and drives the real
commands' library code. The exit code is 0 only if every check passed.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from wcbc.core.errors import ExitCode
from wcbc.sandbox.stack import Sandbox

SHIP = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}]


@dataclass
class Check:
    step: str
    ok: bool
    detail: str


@dataclass
class Demo:
    console: Console
    workdir: Path
    checks: list[Check] = field(default_factory=list)

    def check(self, step: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(step, ok, detail))
        mark = "[green]✔[/green]" if ok else "[red]✘[/red]"
        self.console.print(f"  {mark} {detail}", highlight=False)
        return ok

    def say(self, title: str) -> None:
        self.console.print(f"\n[bold cyan]▶ {title}[/bold cyan]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _docs(sb: Sandbox, number: Any) -> list[dict]:
    from wcbc.core.config import OrdersConfig  # the demo's config keeps the default number_prefix

    return sb.bc.documents_by_external_number(f"{OrdersConfig().number_prefix}{number}")


def run_demo(console: Console, workdir: Path | None = None) -> ExitCode:
    from wcbc.core.vault import Vault, generate_master_key
    from wcbc.ops.context import open_context

    workdir = workdir or Path(tempfile.mkdtemp(prefix="wcbc-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["WCBC_MASTER_KEY"] = generate_master_key()  # never the user's keyring
    demo = Demo(console, workdir)
    console.rule("[bold]wcbc demo[/bold]: WooCommerce ⇄ Business Central on the built-in sandbox")
    with Sandbox(
        workdir / "sandbox", woo_options={"webhook_delay": 0.2}, bc_options={"webhook_delay": 0.3}
    ) as sb:
        port = free_port()
        config_path = workdir / "config.toml"
        state_path = workdir / "state.db"
        vault_path = workdir / "vault.bin"
        config_path.write_text(
            sb.config_text(
                state_path=state_path,
                vault_path=vault_path,
                public_url=f"http://127.0.0.1:{port}",
                serve_port=port,
            )
        )
        vault = Vault.open(vault_path)
        for name, value in sb.credentials.secrets().items():
            vault.set(name, value)
        from wcbc.core.vault import generate_client_state

        vault.set("bc_client_state", generate_client_state())
        console.print(
            f"sandbox: WooCommerce {sb.woo_server.url}, Entra ID {sb.entra_server.url}, "
            f"Business Central {sb.bc_server.url}",
            highlight=False,
        )
        ctx = open_context(config_path)
        try:
            _story(demo, sb, ctx, port)
        finally:
            ctx.close()
    return _summary(demo, state_path, config_path)


def _story(demo: Demo, sb: Sandbox, ctx: Any, port: int) -> None:
    import datetime as dt

    from wcbc.sync.items.sync import ItemSync
    from wcbc.sync.orders.sync import OrderSync
    from wcbc.sync.reconcile import Reconciler
    from wcbc.webhooks.health import install_webhooks
    from wcbc.webhooks.service import service_from_context
    from wcbc.webhooks.subscriptions import ensure_subscriptions

    demo.say("wcbc doctor: both systems answer with the stored credentials")
    demo.check(
        "doctor", bool(ctx.woo.ping() is not None), f"WooCommerce authenticated read at {sb.woo_server.url}"
    )
    company = ctx.bc.company()
    demo.check(
        "doctor", company.get("id") == sb.company_id, f"Entra token, then BC company {company.get('name')!r}"
    )

    demo.say("wcbc serve, wcbc webhooks install, wcbc renew-subscriptions")
    service = service_from_context(ctx, host="127.0.0.1", port=port, interval=2.0).start()
    try:
        public = f"http://127.0.0.1:{port}"
        hooks = install_webhooks(ctx.woo, public_url=public, secret=ctx.vault.require("woo_webhook_secret"))
        demo.check(
            "webhooks", len(hooks) == 2, "order.created and order.updated webhooks installed, with our secret"
        )
        report = ensure_subscriptions(
            ctx.bc,
            ctx.state,
            public_url=public,
            client_state=ctx.vault.require("bc_client_state"),
            renew_before=dt.timedelta(hours=24),
            verify=ctx.config.verify(),
        )
        demo.check(
            "subscriptions",
            bool(report.created),
            f"BC item subscription created (validation handshake answered by serve), expires "
            f"{report.next_expiry}",
        )

        demo.say("Web orders arrive: webhooks → serve → BC sales orders, within seconds")
        jane = next(c["id"] for c in sb.woo.customers_list() if c["email"] == "jane.doe@example.test")
        new = sb.woo.add_customer("alex.new@example.test", "Alex", "Newton")
        guest = {
            "first_name": "Sam",
            "last_name": "O'Brien",
            "email": "sam+gifts@example.test",
            "address_1": "9 Elm St",
            "city": "Portland",
            "state": "OR",
            "postcode": "97201",
            "country": "US",
        }
        orders = {
            "registered customer, variation, coupon, shipping": sb.woo.create_order(
                customer_id=jane,
                line_items=[{"sku": "TSHIRT-001", "quantity": 2}, {"sku": "HOODIE-M", "quantity": 1}],
                shipping_lines=SHIP,
                coupon_lines=[{"code": "save10"}],
            ),
            "guest with a gift-wrap fee": sb.woo.create_order(
                billing=guest,
                line_items=[{"sku": "MUG-001", "quantity": 2}],
                shipping_lines=SHIP,
                fee_lines=[{"name": "Gift wrapping", "total": "5.00", "tax_status": "taxable"}],
            ),
            "new customer": sb.woo.create_order(
                customer_id=new["id"], line_items=[{"sku": "CAP-001", "quantity": 3}]
            ),
        }
        booked = wait_until(lambda: all(_docs(sb, o["number"]) for o in orders.values()), timeout=30)
        demo.check("orders", booked, "all three orders booked by the serve worker from their webhooks")
        for label, order in orders.items():
            found = _docs(sb, order["number"])
            if not found:
                demo.check("orders", False, f"order {order['number']} ({label}): no BC document")
                continue
            doc = found[0]
            diff = abs(Decimal(str(doc["totalAmountIncludingTax"])) - Decimal(order["total"]))
            demo.check(
                "orders",
                len(found) == 1 and diff <= Decimal("0.01"),
                f"order {order['number']} ({label}) → {doc['number']} for customer {doc['customerNumber']}, "
                f"total {doc['totalAmountIncludingTax']} vs WooCommerce {order['total']}",
            )
        customers = {c["email"]: c["number"] for c in sb.bc.customers()}
        demo.check(
            "customers",
            "jane.doe@example.test" in customers
            and "sam+gifts@example.test" in customers
            and "alex.new@example.test" in customers
            and len(customers) == 3,
            "Jane matched by e-mail; the guest and the new customer created once each",
        )
        sb.woo.flush_webhooks(10)
        first = next(iter(orders.values()))
        meta = {m["key"]: m["value"] for m in sb.woo.get_order(first["id"])["meta_data"]}
        demo.check(
            "write-back",
            meta.get("_wcbc_bc_document") == _docs(sb, first["number"])[0]["number"],
            f"BC number written back on order {first['number']} (meta _wcbc_bc_document); its echo ignored",
        )

        demo.say("A webhook delivered again (and a cron poll overlapping it) books nothing twice")
        sb.woo.update_order(
            first["id"], meta_data=[{"key": "_wcbc_bc_document", "value": meta.get("_wcbc_bc_document")}]
        )
        sb.woo.flush_webhooks(10)
        wait_until(lambda: ctx.state.inbox_backlog("woocommerce") == 0, timeout=15)
        rerun = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run(
            since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        )
        once = all(len(_docs(sb, o["number"])) == 1 for o in orders.values())
        demo.check(
            "exactly once",
            once and rerun.count("booked") == 0,
            f"replayed delivery + full poll: {rerun.counts}; still one BC document per order",
        )

        demo.say("Refunds → order.updated → serve → the open sales order reduced, or a credit memo")
        first = orders["registered customer, variation, coupon, shipping"]
        # A whole line: BC's tax on the lines left is the store's to the cent (a part of a line may not be:
        # the store rounds its tax per unit, BC per line; such a refund fails for a person to settle).
        hoodie = sb.woo.refund_order(
            first["id"], line_items=[{"sku": "HOODIE-M", "quantity": 1}], restock=True
        )
        prefix = ctx.config.orders.number_prefix or ""
        marker = f"WooCommerce refund {prefix}{first['number']}-R{hoodie['id']}".upper()

        def _reduced() -> dict:
            for d in _docs(sb, first["number"]):
                if any(str(ln.get("description")).upper() == marker for ln in d.get("salesOrderLines") or []):
                    return d
            return {}

        reduced = wait_until(lambda: bool(_reduced()), 30)
        doc = _reduced()
        left = Decimal(first["total"]) - Decimal(hoodie["amount"])
        demo.check(
            "refunds",
            reduced and Decimal(str(doc.get("totalAmountIncludingTax"))) == left,
            f"refund {hoodie['id']} of order {first['number']} ({hoodie['amount']}, hoodie restocked) → its "
            f"open sales order {doc.get('number')} reduced to {left}: nothing was invoiced, no credit memo",
        )
        gift = orders["guest with a gift-wrap fee"]
        sb.bc.ship_order(str(_docs(sb, gift["number"])[0]["id"]))  # a BC user ships it: BC will invoice it
        refund = sb.woo.refund_order(
            gift["id"], line_items=[{"sku": "MUG-001", "quantity": 1}], restock=True
        )
        key = f"{gift['number']}-R{refund['id']}"
        credited = wait_until(lambda: any(d.get("@kind") == "salesCreditMemo" for d in _docs(sb, key)), 30)
        memo = next((d for d in _docs(sb, key) if d.get("@kind") == "salesCreditMemo"), {})
        demo.check(
            "refunds",
            credited and Decimal(str(memo.get("totalAmountIncludingTax"))) == Decimal(refund["amount"]),
            f"refund {refund['id']} of the shipped order {gift['number']} ({refund['amount']}, mug "
            f"restocked) → credit memo {memo.get('number')} ({memo.get('externalDocumentNumber')}), an Item "
            "line: the mug comes back when it is posted",
        )

        demo.say("BC price change → BC notification → serve → WooCommerce product")
        sb.bc.set_price("MUG-001", "13.90")
        priced = wait_until(
            lambda: sb.woo.get_product_by_sku("MUG-001")["regular_price"] == "13.90", timeout=30
        )
        demo.check(
            "items",
            priced,
            "MUG-001 regular_price is now 13.90 in the store (read back from BC, not "
            "from the notification, which carries no data)",
        )

        demo.say("BC stock movement (no webhook fires for it) → ledger-entry poll in sync-items")
        sb.bc.move_stock("CAP-001", 40)
        sync = None
        for _ in range(3):  # serve's worker may hold the lock for a moment
            from wcbc.core.errors import LockHeld
            from wcbc.core.lock import run_lock

            try:
                with run_lock(ctx.config.state.path, "sync-items"):
                    sync = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config).run()
                break
            except LockHeld:
                time.sleep(1)
        cap = sb.woo.get_product_by_sku("CAP-001")
        inventory = next(i for i in sb.bc.items() if i["number"] == "CAP-001")["inventory"]
        open_qty = 3  # the new customer's open sales order, not yet shipped
        expected = int(Decimal(str(inventory)) - open_qty)
        demo.check(
            "items",
            sync is not None and cap.get("stock_quantity") == expected,
            f"CAP-001 stock {cap.get('stock_quantity')} = BC inventory {inventory} − {open_qty} on open "
            "sales orders (never re-sells what is already sold)",
        )

        demo.say("Someone edits a product by hand; the nightly reconcile puts it right")
        sb.woo.edit_product("TSHIRT-001", regular_price="1.00")
        with run_lock(ctx.config.state.path, "reconcile"):
            rec = Reconciler(ctx.woo, ctx.bc, ctx.state, ctx.config).run()
        tshirt = sb.woo.get_product_by_sku("TSHIRT-001")
        demo.check(
            "reconcile",
            tshirt["regular_price"] == "20.00",
            f"TSHIRT-001 back to 20.00 from BC; reconcile: {rec.summary().get('updated', 0)} updated, "
            f"{rec.already_right} already right",
        )
    finally:
        service.stop()


def _summary(demo: Demo, state_path: Path, config_path: Path) -> int:
    table = Table(title="wcbc demo: summary")
    table.add_column("step")
    table.add_column("checks")
    table.add_column("result")
    steps: dict[str, list[Check]] = {}
    for check in demo.checks:
        steps.setdefault(check.step, []).append(check)
    for step, checks in steps.items():
        ok = all(c.ok for c in checks)
        table.add_row(step, str(len(checks)), "[green]ok[/green]" if ok else "[red]FAILED[/red]")
    demo.console.print(table)
    demo.console.print(
        f"state DB:    {state_path}\naudit trail: wcbc --config {config_path} audit order:<id>  "
        f"(or: wcbc --config {config_path} status)",
        highlight=False,
    )
    failed = [c for c in demo.checks if not c.ok]
    if failed or not demo.checks:
        demo.console.print(f"[red]{len(failed)} check(s) failed[/red]")
        return ExitCode.RECORDS_FAILED
    demo.console.print(f"[green]all {len(demo.checks)} checks passed[/green]")
    return ExitCode.OK
