"""The shipped deployment examples: crontab.sample, examples/systemd, examples/nginx, examples/caddy.

Everything is checked offline: every command line is parsed by wcbc's own CLI (unknown options, bad
values and unknown commands fail), schedules are expanded to runs per day, and the proxy configurations
are parsed to prove that only the webhook paths (and a loopback-only /healthz) reach wcbc, with the same
body limits as `wcbc serve` itself.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from wcbc.cli.app import app
from wcbc.core.config import ServeConfig
from wcbc.webhooks.app import BC_MIN_MAX_BODY, BC_PATH, HEALTH_PATH, WOO_PATH

ROOT = Path(__file__).resolve().parent.parent
CRONTAB = ROOT / "crontab.sample"
SYSTEMD = ROOT / "examples" / "systemd"
NGINX = ROOT / "examples" / "nginx" / "wcbc.conf"
CADDY = ROOT / "examples" / "caddy" / "Caddyfile"

WEBHOOK_PATHS = {WOO_PATH, BC_PATH}
PROXIED = WEBHOOK_PATHS | {HEALTH_PATH}
UPSTREAM = f"127.0.0.1:{ServeConfig().port}"
WOO_MAX_BODY = ServeConfig().max_body
STATE_DIR = "/var/lib/wcbc"

# what each scheduled command must do, in runs per day
CADENCE = {
    ("sync-orders",): 288,  # every 5 minutes
    ("sync-items",): 288,
    ("sync-fulfilment",): 96,  # every 15 minutes
    ("reconcile",): 1,  # nightly
    ("renew-subscriptions",): 4,  # every 6 hours
    ("webhooks", "check"): 24,  # hourly
}
METRICS_OPTION = "--metrics-file"


# --------------------------------------------------------------------------- the CLI as the judge


def _rest_args(ctx: Any) -> list[str]:
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = getattr(ctx, "protected_args", [])
    return [*protected, *ctx.args]


def _strip_metrics_file(args: list[str]) -> tuple[list[str], str | None]:
    """Remove `--metrics-file PATH` (checked on its own by test_metrics_file_is_a_global_option)."""
    out: list[str] = []
    value: str | None = None
    items = iter(args)
    for arg in items:
        if arg == METRICS_OPTION:
            value = next(items, None)
        elif arg.startswith(METRICS_OPTION + "="):
            value = arg.split("=", 1)[1]
        else:
            out.append(arg)
    return out, value


def parse_invocation(argv: list[str]) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """(command path, global options, command options) as wcbc's CLI parses them; raises on any error."""
    assert argv and argv[0].startswith("/") and argv[0].endswith("/wcbc"), f"not an absolute wcbc: {argv}"
    args, _ = _strip_metrics_file(argv[1:])
    root = typer.main.get_command(app)
    root_ctx = root.make_context("wcbc", args)
    path: list[str] = []
    group: Any = root
    ctx = root_ctx
    rest = _rest_args(root_ctx)
    while True:
        name, command, rest = group.resolve_command(ctx, rest)
        assert command is not None and name is not None
        path.append(name)
        ctx = command.make_context(name, list(rest), parent=ctx)
        if hasattr(command, "resolve_command"):  # a command group (webhooks, credentials)
            group, rest = command, _rest_args(ctx)
            continue
        return tuple(path), dict(root_ctx.params), dict(ctx.params)


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _check_options_in_help(argv: list[str], path: tuple[str, ...]) -> None:
    """Every option written after the command name appears in `wcbc <command> --help`."""
    args, _ = _strip_metrics_file(argv[1:])
    after = args[args.index(path[-1]) + 1:]
    text = _help(path)
    for arg in after:
        if arg.startswith("--"):
            assert arg.split("=")[0] in text, f"{arg} not in `wcbc {' '.join(path)} --help`"


def test_the_parser_itself_rejects_what_the_cli_rejects() -> None:
    # typer's (vendored) click usage errors all derive from the public typer.TyperException
    with pytest.raises(typer.TyperException, match="No such option"):
        parse_invocation(["/opt/wcbc/bin/wcbc", "--quiet", "sync-orders", "--no-such-option"])
    with pytest.raises(typer.TyperException, match="No such option"):
        parse_invocation(["/opt/wcbc/bin/wcbc", "--no-such-global", "sync-orders"])
    with pytest.raises(typer.TyperException, match="integer"):
        parse_invocation(["/opt/wcbc/bin/wcbc", "sync-orders", "--limit", "zero"])
    with pytest.raises(typer.TyperException, match="nonsense"):
        parse_invocation(["/opt/wcbc/bin/wcbc", "webhooks", "nonsense"])
    with pytest.raises(typer.TyperException, match="no-such-command"):
        parse_invocation(["/opt/wcbc/bin/wcbc", "no-such-command"])
    path, globals_, options = parse_invocation(
        ["/opt/wcbc/bin/wcbc", "--config", "/etc/wcbc/config.toml", "-q", "webhooks", "check", "--repair"])
    assert path == ("webhooks", "check")
    assert globals_["quiet"] is True and str(globals_["config"]) == "/etc/wcbc/config.toml"
    assert options["repair"] is True


# --------------------------------------------------------------------------- schedules


def _cron_field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        assert step >= 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = int(base)
            end = high if step_text else start
        assert low <= start <= end <= high, f"{text!r} out of {low}-{high}"
        values.update(range(start, end + 1, step))
    return values


def _cron_runs_per_day(minute: str, hour: str, dom: str, month: str, dow: str) -> int:
    assert (dom, month, dow) == ("*", "*", "*"), "the sample schedules run every day"
    return len(_cron_field(minute, 0, 59)) * len(_cron_field(hour, 0, 23))


def _calendar_component(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        start = low if base == "*" else int(base)
        if step_text:
            values.update(range(start, high + 1, int(step_text)))
        elif base == "*":
            values.update(range(low, high + 1))
        else:
            values.add(start)
    assert values and all(low <= v <= high for v in values), text
    return values


def _calendar_runs_per_day(expression: str) -> int:
    """systemd OnCalendar= for the forms a daily schedule uses: [*-*-* ]H:M[:S]."""
    parts = expression.split()
    if len(parts) == 2:
        assert parts[0] == "*-*-*", expression
    clock = parts[-1].split(":")
    assert len(clock) in (2, 3), expression
    seconds = _calendar_component(clock[2], 0, 59) if len(clock) == 3 else {0}
    return (len(_calendar_component(clock[0], 0, 23)) * len(_calendar_component(clock[1], 0, 59))
            * len(seconds))


def test_calendar_and_cron_evaluators() -> None:
    assert _cron_runs_per_day("*/5", "*", "*", "*", "*") == 288
    assert _cron_runs_per_day("17", "*/6", "*", "*", "*") == 4
    assert _calendar_runs_per_day("*:0/5") == 288
    assert _calendar_runs_per_day("00/6:17") == 4
    assert _calendar_runs_per_day("*-*-* 02:30:00") == 1


# --------------------------------------------------------------------------- crontab.sample


def _cron_jobs() -> list[tuple[list[str], str, list[str], str]]:
    """(time fields, user, argv, the comment block above) per job line."""
    jobs = []
    comment: list[str] = []
    for line in CRONTAB.read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        if re.match(r"^[A-Z_]+=", stripped):
            comment = []
            continue
        fields = stripped.split(None, 6)
        assert len(fields) == 7, f"expected 5 time fields, a user and a command: {line!r}"
        jobs.append((fields[:5], fields[5], shlex.split(fields[6]), " ".join(comment)))
        comment = []
    return jobs


def test_crontab_has_the_recommended_cadence() -> None:
    jobs = _cron_jobs()
    seen: dict[tuple[str, ...], int] = {}
    for times, _user, argv, _comment in jobs:
        path, _, _ = parse_invocation(argv)
        assert path not in seen, f"{path} scheduled twice"
        seen[path] = _cron_runs_per_day(*times)
    assert seen == CADENCE


def test_crontab_lines_are_real_commands_quiet_configured_and_commented() -> None:
    jobs = _cron_jobs()
    assert len(jobs) == len(CADENCE)
    for _times, user, argv, comment in jobs:
        assert user == "wcbc", "a dedicated user, never root"
        path, globals_, options = parse_invocation(argv)
        assert globals_["quiet"] is True, f"{argv}: --quiet, so cron mails only problems"
        assert globals_["config"] is not None and str(globals_["config"]).startswith("/")
        assert not globals_["json_out"] and not globals_["debug"]
        assert not options.get("dry_run"), "a dry run in a schedule does nothing"
        assert _strip_metrics_file(argv)[1], f"{argv}: --metrics-file missing"
        assert comment, f"{' '.join(path)}: every line is explained by a comment above it"
        assert "%" not in " ".join(argv), "cron turns % into a newline"
        _check_options_in_help(argv, path)


def test_crontab_environment() -> None:
    text = CRONTAB.read_text()
    assert re.search(r"^MAILTO=\S+", text, re.M)
    assert re.search(r"^PATH=", text, re.M)
    # no secret in the file: no WCBC_* variable is set here, no WooCommerce key pasted in
    assert not re.search(r"^\s*WCBC_\w*=", text, re.M)
    assert not re.search(r"\b(ck|cs)_[0-9a-f]{8,}", text)


# --------------------------------------------------------------------------- systemd


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: keep directives on one line"
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}:{number}"
            current = line[1:-1]
            assert current not in sections, f"{path.name}: [{current}] twice"
            sections[current] = []
            continue
        assert current is not None, f"{path.name}:{number}: directive outside a section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"{path.name}:{number}: {line!r}"
        sections[current].append((key.strip(), value.strip()))
    return sections


def _one(section: list[tuple[str, str]], key: str) -> str:
    values = [v for k, v in section if k == key]
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def _all(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes"}


def _check_service_common(name: str, unit: dict[str, list[tuple[str, str]]]) -> list[str]:
    assert {"Unit", "Service"} <= set(unit), name
    service = unit["Service"]
    assert _one(unit["Unit"], "Description")
    assert _one(service, "User") == "wcbc" and _one(service, "Group") == "wcbc"
    for key, value in HARDENING.items():
        assert _one(service, key) == value, f"{name}: {key}={value}"
    writable = [p.lstrip("-") for v in _all(service, "ReadWritePaths") for p in v.split()]
    assert STATE_DIR in writable, f"{name}: the state dir must be writable under ProtectSystem=strict"
    assert _one(service, "CapabilityBoundingSet") == ""
    env_files = _all(service, "EnvironmentFile")
    assert all(f.lstrip("-").startswith("/etc/wcbc/") for f in env_files)
    argv = shlex.split(_one(service, "ExecStart"))
    metrics = _strip_metrics_file(argv)[1]
    if metrics:
        assert str(Path(metrics).parent) in writable, f"{name}: the metrics directory must be writable"
    return argv


def test_every_scheduled_command_has_a_oneshot_service_and_a_timer() -> None:
    timers = sorted(SYSTEMD.glob("*.timer"))
    seen: dict[tuple[str, ...], int] = {}
    for timer_path in timers:
        timer = parse_unit(timer_path)
        assert {"Unit", "Timer", "Install"} <= set(timer)
        assert _one(timer["Install"], "WantedBy") == "timers.target"
        service_name = _one(timer["Timer"], "Unit")
        assert service_name == timer_path.with_suffix(".service").name
        service_path = SYSTEMD / service_name
        assert service_path.exists(), service_name
        service = parse_unit(service_path)
        assert _one(service["Service"], "Type") == "oneshot"
        assert "Install" not in service, "a timer starts it; it is not enabled itself"
        argv = _check_service_common(service_name, service)
        path, globals_, options = parse_invocation(argv)
        assert globals_["quiet"] is True and globals_["config"] is not None
        assert not options.get("dry_run")
        _check_options_in_help(argv, path)
        assert service_name == "wcbc-" + "-".join(path) + ".service"
        seen[path] = sum(_calendar_runs_per_day(c) for c in _all(timer["Timer"], "OnCalendar"))
    assert seen == CADENCE


def test_serve_service() -> None:
    unit = parse_unit(SYSTEMD / "wcbc-serve.service")
    service = unit["Service"]
    assert _one(service, "Type") == "simple"
    assert _one(service, "Restart") == "on-failure"
    assert _one(unit["Install"], "WantedBy") == "multi-user.target"
    argv = _check_service_common("wcbc-serve.service", unit)
    path, globals_, _ = parse_invocation(argv)
    assert path == ("serve",)
    assert globals_["config"] is not None


def test_systemd_folder_is_complete_and_documented() -> None:
    names = {p.name for p in SYSTEMD.iterdir()}
    expected = {"README.md", "wcbc-serve.service"}
    for path in CADENCE:
        stem = "wcbc-" + "-".join(path)
        expected |= {stem + ".service", stem + ".timer"}
    assert names == expected
    readme = (SYSTEMD / "README.md").read_text()
    for name in expected - {"README.md"}:
        assert name in readme, f"README.md does not mention {name}"


# --------------------------------------------------------------------------- nginx


def _nginx_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for match in re.finditer(r"#[^\n]*|\"(?:[^\"\\]|\\.)*\"|'[^']*'|[{};]|[^\s{};\"'#]+", text):
        token = match.group(0)
        if not token.startswith("#"):
            tokens.append(token)
    return tokens


Block = list[tuple[list[str], Any]]  # (directive words, sub-block or None)


def parse_nginx(text: str) -> Block:
    tokens = _nginx_tokens(text)
    pos = 0

    def block() -> Block:
        nonlocal pos
        items: Block = []
        words: list[str] = []
        while pos < len(tokens):
            token = tokens[pos]
            pos += 1
            if token == ";":
                items.append((words, None))
                words = []
            elif token == "{":
                items.append((words, block()))
                words = []
            elif token == "}":
                assert not words, f"unterminated directive {words}"
                return items
            else:
                words.append(token)
        assert not words
        return items

    result = block()
    assert pos == len(tokens), "unbalanced braces"
    return result


def _directives(block: Block, name: str) -> list[list[str]]:
    return [words[1:] for words, sub in block if words and words[0] == name and sub is None]


def _walk(block: Block) -> Any:
    for words, sub in block:
        yield words, sub
        if sub is not None:
            yield from _walk(sub)


def _nginx_size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", text).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_nginx_forwards_only_the_webhooks_and_a_local_healthz() -> None:
    config = parse_nginx(NGINX.read_text())
    servers = [sub for words, sub in config if words == ["server"]]
    tls = [s for s in servers if any("443" in d[0] and "ssl" in d for d in _directives(s, "listen"))]
    assert len(tls) == 1
    server = tls[0]
    assert _directives(server, "ssl_certificate") and _directives(server, "ssl_certificate_key")
    for timeout in ("client_body_timeout", "client_header_timeout", "proxy_read_timeout",
                    "proxy_connect_timeout"):
        assert _directives(server, timeout), timeout

    locations = {tuple(words[1:]): sub for words, sub in server if words and words[0] == "location"}
    proxied = {}
    for key, sub in locations.items():
        passes = _directives(sub, "proxy_pass")
        if passes:
            assert key[0] == "=", f"location {key}: only exact paths are forwarded"
            assert passes == [[f"http://{UPSTREAM}"]], "forward to wcbc serve, path unchanged"
            proxied[key[1]] = sub
    assert set(proxied) == PROXIED

    # everything else: 404 from nginx
    assert _directives(locations[("/",)], "return") == [["404"]]
    # no proxy_pass outside those three locations (port 80 included)
    passes = [w for w, _ in _walk(config) if w and w[0] == "proxy_pass"]
    assert len(passes) == len(PROXIED)
    # port 80 never redirects (WooCommerce counts a 301/302 as delivered, without following it)
    for words, _ in _walk(config):
        if words and words[0] == "return":
            assert words[1] not in ("301", "302", "303", "307", "308"), words

    def body_limit(sub: Block) -> int:
        return _nginx_size(_directives(sub, "client_max_body_size")[0][0])

    assert body_limit(proxied[WOO_PATH]) == WOO_MAX_BODY
    assert body_limit(proxied[BC_PATH]) == BC_MIN_MAX_BODY
    assert body_limit(server) <= WOO_MAX_BODY

    def methods(sub: Block) -> set[str]:
        blocks = [s for words, s in sub if words and words[0] == "limit_except"]
        assert len(blocks) == 1 and _directives(blocks[0], "deny") == [["all"]]
        return {w for words, s in sub if words and words[0] == "limit_except" for w in words[1:]}

    assert methods(proxied[WOO_PATH]) == {"POST"}
    assert methods(proxied[BC_PATH]) == {"GET", "POST"}
    health = proxied[HEALTH_PATH]
    assert {a[0] for a in _directives(health, "allow")} <= {"127.0.0.1", "::1"}
    assert _directives(health, "deny") == [["all"]]


# --------------------------------------------------------------------------- Caddy


def parse_caddy(text: str) -> Block:
    """Caddyfile structure: one directive per line, `{` opening a block at a line's end, `}` closing it."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
        if line:
            lines.append(line)
    pos = 0

    def block() -> Block:
        nonlocal pos
        items: Block = []
        while pos < len(lines):
            line = lines[pos]
            pos += 1
            if line == "}":
                return items
            if line.endswith("{"):
                items.append((shlex.split(line[:-1]), block()))
            else:
                items.append((shlex.split(line), None))
        return items

    result = block()
    assert pos == len(lines)
    return result


def _caddy_size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(B|KB|KiB|MB|MiB)", text).groups()  # type: ignore[union-attr]
    return int(number) * {"B": 1, "KB": 1000, "KiB": 1024, "MB": 1000**2, "MiB": 1024**2}[unit]


def test_caddy_forwards_only_the_webhooks_and_a_local_healthz() -> None:
    config = parse_caddy(CADDY.read_text())
    sites = [(words, sub) for words, sub in config if sub is not None]
    global_options = [sub for words, sub in sites if words == []]
    assert len(global_options) == 1, "global options block with server timeouts"
    timeouts = [sub for words, sub in _walk(global_options[0]) if words == ["timeouts"]]
    assert timeouts and {w[0] for w, _ in timeouts[0]} >= {"read_header", "read_body", "write"}
    site = [sub for words, sub in sites if words != []]
    assert len(site) == 1
    site_block = site[0]

    matchers: dict[str, dict[str, list[str]]] = {}
    for words, sub in site_block:
        if words and words[0].startswith("@"):
            assert sub is not None
            matchers[words[0]] = {w[0]: w[1:] for w, _ in sub}
    handles = [(words[1:], sub) for words, sub in site_block if words and words[0] == "handle"]
    assert not [w for w, _ in site_block if w and w[0] in ("reverse_proxy", "route", "handle_path")]

    proxied: dict[str, tuple[dict[str, list[str]], Block]] = {}
    fallback = None
    for args, sub in handles:
        if not args:
            fallback = sub
            continue
        matcher = matchers[args[0]]
        assert set(matcher) <= {"path", "method", "remote_ip"}
        (path,) = matcher["path"]
        proxies = [w for w, _ in sub if w and w[0] == "reverse_proxy"]
        assert proxies == [["reverse_proxy", UPSTREAM]]
        proxied[path] = (matcher, sub)
    assert set(proxied) == PROXIED
    assert fallback is not None and [w for w, _ in fallback] == [["respond", "404"]]
    # no reverse_proxy anywhere else
    assert len([w for w, _ in _walk(config) if w and w[0] == "reverse_proxy"]) == len(PROXIED)

    def body_limit(sub: Block) -> int:
        blocks = [s for w, s in sub if w == ["request_body"]]
        assert len(blocks) == 1
        return _caddy_size(dict((w[0], w[1]) for w, _ in blocks[0])["max_size"])

    assert body_limit(proxied[WOO_PATH][1]) == WOO_MAX_BODY
    assert body_limit(proxied[BC_PATH][1]) == BC_MIN_MAX_BODY
    assert proxied[WOO_PATH][0]["method"] == ["POST"]
    assert set(proxied[BC_PATH][0]["method"]) == {"GET", "POST"}
    assert set(proxied[HEALTH_PATH][0]["remote_ip"]) <= {"127.0.0.1", "::1"}
    assert proxied[HEALTH_PATH][0]["remote_ip"]


# --------------------------------------------------------------------------- the wiring still to land


def test_metrics_file_is_a_global_option() -> None:
    """crontab.sample and the systemd units pass --metrics-file before the command."""
    root = typer.main.get_command(app)
    options = {opt for param in root.params for opt in getattr(param, "opts", [])}
    assert METRICS_OPTION in options, "wcbc.cli.app: add the global --metrics-file PATH option"
    paths = {_strip_metrics_file(argv)[1] for _t, _u, argv, _c in _cron_jobs()}
    assert len(paths) == 1 and next(iter(paths)).startswith("/")  # type: ignore[union-attr]
    ctx = root.make_context("wcbc", [METRICS_OPTION, "/tmp/x.prom", "status"])
    assert str(ctx.params["metrics_file"]) == "/tmp/x.prom"


# --------------------------------------------------------------------------- the buffering proxy (issue 14)

README = ROOT / "README.md"


def test_nginx_buffers_every_forwarded_request_and_says_it_is_required() -> None:
    text = NGINX.read_text()
    assert "REQUIRED" in text and "BUFFERING" in text
    config = parse_nginx(text)
    server = next(s for words, s in config if words == ["server"]
                  and any("443" in d[0] for d in _directives(s, "listen")))
    assert _directives(server, "proxy_request_buffering") == [["on"]]
    # no location turns it off again
    assert [w for w, _ in _walk(config) if w[:2] == ["proxy_request_buffering", "off"]] == []


def test_caddy_buffers_every_webhook_body_and_says_it_is_required() -> None:
    text = CADDY.read_text()
    assert "REQUIRED" in text and "BUFFERING" in text
    config = parse_caddy(text)
    site = next(sub for words, sub in config if sub is not None and words)
    limits = {WOO_PATH: WOO_MAX_BODY, BC_PATH: BC_MIN_MAX_BODY}
    matchers = {w[0]: {x[0]: x[1:] for x, _ in sub} for w, sub in site if w and w[0].startswith("@")}
    checked = set()
    for words, sub in site:
        if words and words[0] == "handle" and len(words) > 1:
            (path,) = matchers[words[1]]["path"]
            if path not in limits:
                continue
            proxy = next(s for w, s in sub if w and w[0] == "reverse_proxy")
            assert proxy is not None, f"{path}: reverse_proxy needs request_buffers"
            buffers = [w for w, _ in proxy if w and w[0] == "request_buffers"]
            assert len(buffers) == 1 and _caddy_size(buffers[0][1]) >= limits[path], path
            checked.add(path)
    assert checked == WEBHOOK_PATHS


def test_serve_unit_fits_the_connection_limit_and_names_the_proxy() -> None:
    unit = parse_unit(SYSTEMD / "wcbc-serve.service")
    assert int(_one(unit["Service"], "LimitNOFILE")) >= ServeConfig().connection_limit + 64
    assert "REQUIRED" in (SYSTEMD / "wcbc-serve.service").read_text()


def test_readme_says_the_buffering_proxy_is_required() -> None:
    text = README.read_text()
    section = text.split("\n## Webhooks, serve and subscriptions\n", 1)[1].split("\n## ", 1)[0]
    assert "buffering reverse proxy" in section and "REQUIRED" in section
    assert "proxy_request_buffering on" in section and "request_buffers" in section
    for key in ("connection_limit", "channel_timeout", "request_timeout", "backlog"):
        assert f"`{key}`" in section, key
