"""Run the wcbc benchmark: ``python -m bench.run [--scenario orders|items|serve|refunds|fulfilment|all] ...``.

Each scenario runs in its own child process (so that peak RSS and CPU belong to that scenario), drives
the sandbox in-process with realistic latency and Business Central's real limits, and reports figures
beside their bounds. Results: a table on screen and a JSON file (``--out``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.scenarios.common import Options

SCENARIOS = ("orders", "items", "serve", "refunds", "fulfilment")
DEFAULT_OUT = Path("bench/results/latest.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    parser.add_argument("--bc-latency", type=float, default=0.150, help="seconds added to each BC call")
    parser.add_argument("--woo-latency", type=float, default=0.250,
                        help="seconds added to each WooCommerce call")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--notifications", type=int, default=500)
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=16, help="load generator threads (serve)")
    parser.add_argument("--serve-workers", type=int, default=4, help="waitress threads (serve)")
    parser.add_argument("--case", action="append", default=[],
                        help="run only this case (repeatable), e.g. sales_order, reconcile")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report tracemalloc's peak (slows the run down)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile .prof per case into this directory")
    parser.add_argument("--sandbox-nodelay", action=argparse.BooleanOptionalAction, default=True,
                        help="patch the sandbox servers to send with TCP_NODELAY at run time (default: on; "
                             "off shows the sandbox's own ~40 ms per-response stall)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--in-process", action="store_true",
                        help="run the scenarios in this process (no child per scenario)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def options(args: argparse.Namespace) -> Options:
    return Options(bc_latency=args.bc_latency, woo_latency=args.woo_latency, orders=args.orders,
                   items=args.items, notifications=args.notifications, deliveries=args.deliveries,
                   senders=args.senders, serve_workers=args.serve_workers, tracemalloc=args.tracemalloc,
                   profile=args.profile, cases=tuple(args.case), sandbox_nodelay=args.sandbox_nodelay)


def run_scenario(name: str, opts: Options) -> dict[str, Any]:
    logging.getLogger("waitress").setLevel(logging.ERROR)
    if name == "orders":
        from bench.scenarios import orders as module
    elif name == "items":
        from bench.scenarios import items as module  # type: ignore[no-redef]
    elif name == "refunds":
        from bench.scenarios import refunds as module  # type: ignore[no-redef]
    elif name == "fulfilment":
        from bench.scenarios import fulfilment as module  # type: ignore[no-redef]
    else:
        from bench.scenarios import serve as module  # type: ignore[no-redef]
    started = time.perf_counter()
    result = module.run(opts)
    result["scenario_wall_s"] = round(time.perf_counter() - started, 2)
    return result


def run_in_child(name: str, argv: list[str]) -> dict[str, Any]:
    """The same command for one scenario in a fresh interpreter; its JSON comes back on stdout."""
    args = [a for a in argv if a not in ("--in-process",)]
    cleaned: list[str] = []
    skip = False
    for a in args:  # drop --scenario/--out (the parent owns them)
        if skip:
            skip = False
            continue
        if a in ("--scenario", "--out"):
            skip = True
            continue
        if a.startswith(("--scenario=", "--out=")):
            continue
        cleaned.append(a)
    command = [sys.executable, "-m", "bench.run", "--child", "--scenario", name, *cleaned]
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        return {"scenario": name, "error": f"exit code {proc.returncode}", "cases": []}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def environment_info(opts: Options) -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}}


# ---------------------------------------------------------------------------- output


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per figure: scenario/case, figure, value, bound, ratio, met."""
    out: list[list[str]] = []
    for scenario in results["scenarios"]:
        if scenario.get("error"):
            out.append([scenario["scenario"], "ERROR", scenario["error"], "", "", ""])
        for case in scenario.get("cases", []):
            label = f"{scenario['scenario']}/{case['case']}"
            calls = case.get("calls", {})
            for system, short in (("business_central", "BC"), ("woocommerce", "Woo")):
                block = calls.get(system)
                if block and "per_record_server" in block:
                    out.append([label, f"{short} calls/record (server | client)",
                                f"{_fmt(block['per_record_server'])} | {_fmt(block['per_record_client'])}",
                                _fmt(block["fewest"] / case["records"]) if block.get("fewest") else "-",
                                _fmt(round(block["server"] / block["fewest"], 3))
                                if block.get("fewest") else "-",
                                ""])
            for name, fig in case.get("figures", {}).items():
                met = {True: "yes", False: "NO", None: ""}[fig.get("met")]
                value = _fmt(fig["value"]) + (f" {fig['unit']}" if fig.get("unit") else "")
                out.append([label, name, value, _fmt(fig["bound"]), _fmt(fig["ratio"]), met])
    return out


def print_table(results: dict[str, Any]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency of wcbc
        for row in rows(results):
            print(" | ".join(row))
        return
    table = Table(title="wcbc benchmark", show_lines=False)
    for column in ("case", "figure", "value", "bound", "ratio", "met"):
        table.add_column(column, justify="right" if column in ("value", "bound", "ratio") else "left")
    previous = None
    for row in rows(results):
        if previous is not None and row[0] != previous:
            table.add_section()
        previous = row[0]
        table.add_row(*row)
    Console(width=max(132, Console().width)).print(table)


def markdown(results: dict[str, Any]) -> str:
    lines = ["| case | figure | value | bound | ratio | met |", "|---|---|---:|---:|---:|---|"]
    for row in rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    opts = options(args)
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    if args.child:
        result = run_scenario(names[0], opts)
        print(json.dumps(result, default=str))
        return 0
    results: dict[str, Any] = {"environment": environment_info(opts), "scenarios": []}
    for name in names:
        print(f"running scenario {name} ...", file=sys.stderr, flush=True)
        if args.in_process:
            results["scenarios"].append(run_scenario(name, opts))
        else:
            results["scenarios"].append(run_in_child(name, raw))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"results written to {args.out}", file=sys.stderr)
    return 1 if any(s.get("error") for s in results["scenarios"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
