"""OData v4 query handling for the Business Central simulator: $filter parsing and evaluation,
$select/$orderby/$expand/$top/$skip parsing, enum encoding, ETags and the BC error type.

Only what BC API v2.0 supports (business-central.md §2). The sandbox has its own parser on purpose: it
must not share code with the client it tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# --------------------------------------------------------------------------- errors


class BCError(Exception):
    """An error BC answers with ``{"error":{"code","message  CorrelationId:  <guid>."}}``."""

    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}}


def syntax_error(message: str) -> BCError:
    return BCError(400, "BadRequest_NotFound", message)


def no_property(name: str, type_name: str) -> BCError:
    # ODataLib's message; BC answers it with BadRequest_NotFound (UNDOCUMENTED code choice, see report).
    return BCError(
        400, "BadRequest_NotFound", f"Could not find a property named '{name}' on type '{type_name}'."
    )


# --------------------------------------------------------------------------- enums, etags, values

_ENC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def encode_enum(value: str) -> str:
    """XML-name encoding BC applies to enum values on the wire (" " -> _x0020_, "." -> _x002E_)."""
    out = []
    for ch in value:
        out.append(ch if (ch.isalnum() or ch == "_") else f"_x{ord(ch):04X}_")
    return "".join(out)


def decode_enum(value: str) -> str:
    return _ENC.sub(lambda m: chr(int(m.group(1), 16)), value)


def make_etag(key: str, version: int) -> str:
    digest = base64.b64encode(hashlib.sha256(f"{key}:{version}".encode()).digest()).decode()
    token = f"'{len(digest)};{digest}1;00;'"
    return 'W/"' + base64.b64encode(token.encode()).decode() + '"'


def dt_key(value: str) -> str:
    """Comparable form of a stored/normalised UTC datetime string ('...T..:..:..[.fff]Z')."""
    body = value[:-1] if value.endswith("Z") else value
    if "." in body:
        head, frac = body.split(".", 1)
    else:
        head, frac = body, ""
    return head + "." + (frac + "000000")[:6]


def format_dt(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_dt(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC)


def to_json_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # guid | str | code | dec | int | bool | date | datetime | enum
    ro: bool = False
    size: int | None = None  # max length of str/code
    options: tuple[str, ...] = ()  # enum values (raw, unencoded)


@dataclass
class EntityType:
    name: str  # e.g. "item" -> type "Microsoft.NAV.item"
    fields: list[Field]
    navs: dict[str, str] = field(default_factory=dict)  # nav property -> entity set name
    by_name: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}

    @property
    def type_name(self) -> str:
        return f"Microsoft.NAV.{self.name}"

    def get(self, name: str) -> Field:
        found = self.by_name.get(name)
        if found is None:
            raise no_property(name, self.type_name)
        return found


# --------------------------------------------------------------------------- $filter lexer

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
   |(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w-]))
   |(?P<dtm>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
   |(?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
   |(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
   |(?P<ident>[A-Za-z_][A-Za-z0-9_./]*)
   |(?P<punct>[(),])
    )""",
    re.VERBOSE,
)

_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def _lex(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        toks.append(Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    toks.append(Tok("end", "", len(text)))
    return toks


# --------------------------------------------------------------------------- $filter parser

Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str, etype: EntityType, schema21: bool) -> None:
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.etype = etype
        self.schema21 = schema21

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise syntax_error(f"')' or operator expected at position {tok.pos} in '{self.text}'.")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise syntax_error(f"Expression expected at position 0 in '{self.text}'.")
        node = self.or_expr()
        if self.peek().kind != "end":
            tok = self.peek()
            raise syntax_error(f"Syntax error at position {tok.pos} in '{self.text}'.")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek().kind == "ident" and self.peek().text == "or":
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.peek().kind == "ident" and self.peek().text == "and":
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek().kind == "ident" and self.peek().text == "not":
            self.take()
            return ("not", self.unary())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        tok = self.peek()
        if tok.kind == "ident" and tok.text in _CMP:
            self.take()
            right = self.primary()
            return self._typed_cmp(tok.text, left, right)
        if tok.kind == "ident" and tok.text == "in":
            if not self.schema21:
                raise syntax_error(f"Syntax error at position {tok.pos} in '{self.text}'.")
            self.take()
            self.expect("(")
            items = [self.primary()]
            while self.peek().text == ",":
                self.take()
                items.append(self.primary())
            self.expect(")")
            nodes = [self._typed_cmp("eq", left, item) for item in items]
            node = nodes[0]
            for extra in nodes[1:]:
                node = ("or", node, extra)
            return node
        if left[0] == "func" and left[1] in ("contains", "startswith", "endswith"):
            return left
        if left[0] == "lit" and left[1] == "bool":
            return left
        if left[0] in ("or", "and", "not", "cmp"):
            return left
        if left[0] == "field" and left[2].kind == "bool":
            return ("cmp", "eq", left, ("lit", "bool", True))
        raise syntax_error(f"Syntax error at position {tok.pos} in '{self.text}'.")

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "punct" and tok.text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if tok.kind == "str":
            return ("lit", "str", tok.text[1:-1].replace("''", "'"))
        if tok.kind == "guid":
            return ("lit", "guid", tok.text.lower())
        if tok.kind == "dtm":
            moment = parse_dt(tok.text)
            if moment is None:
                raise syntax_error(f"Unrecognized 'Edm.DateTimeOffset' literal '{tok.text}' at '{tok.pos}'.")
            return ("lit", "datetime", dt_key(format_dt(moment)[:-5] + f".{moment.microsecond:06d}Z"))
        if tok.kind == "date":
            try:
                dt.date.fromisoformat(tok.text)
            except ValueError as exc:
                raise syntax_error(f"Unrecognized 'Edm.Date' literal '{tok.text}' at '{tok.pos}'.") from exc
            return ("lit", "date", tok.text)
        if tok.kind == "num":
            try:
                return ("lit", "num", Decimal(tok.text.rstrip("mMdDfFlL")))
            except InvalidOperation as exc:
                raise syntax_error(f"Syntax error at position {tok.pos} in '{self.text}'.") from exc
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return ("lit", "bool", tok.text == "true")
            if tok.text == "null":
                return ("lit", "null", None)
            if self.peek().text == "(":
                return self.function(tok)
            if tok.text in _CMP or tok.text in ("and", "or", "not", "in"):
                raise syntax_error(f"Expression expected at position {tok.pos} in '{self.text}'.")
            return ("field", tok.text, self.etype.get(tok.text))
        raise syntax_error(f"Expression expected at position {tok.pos} in '{self.text}'.")

    def function(self, name_tok: Tok) -> Node:
        name = name_tok.text
        self.expect("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.primary())
            while self.peek().text == ",":
                self.take()
                args.append(self.primary())
        self.expect(")")
        if name in ("tolower", "toupper"):
            if len(args) != 1 or args[0][0] != "field" or args[0][2].kind not in ("str", "code", "enum"):
                raise syntax_error(
                    f"No function signature for the function with name '{name}' matches the "
                    "specified arguments."
                )
            return ("func", name, args)
        if name in ("contains", "startswith", "endswith"):
            if len(args) != 2 or args[1][0] != "lit" or args[1][1] != "str":
                raise syntax_error(
                    f"No function signature for the function with name '{name}' matches the "
                    "specified arguments."
                )
            target = args[0]
            if target[0] == "func" and not self.schema21:
                # Nested functions need $schemaversion=2.1 (business-central.md §2).
                raise BCError(
                    400,
                    "BadRequest_NotSupported",
                    f"Nested functions such as '{name}({target[1]}(...))' are not supported.",
                )
            if target[0] == "field" and target[2].kind not in ("str", "code", "enum"):
                raise syntax_error(
                    f"No function signature for the function with name '{name}' matches the "
                    "specified arguments."
                )
            if target[0] not in ("field", "func"):
                raise syntax_error(
                    f"No function signature for the function with name '{name}' matches the "
                    "specified arguments."
                )
            return ("func", name, args)
        raise syntax_error(f"An unknown function with name '{name}' was found.")

    def _typed_cmp(self, op: str, left: Node, right: Node) -> Node:
        if left[0] == "lit" and right[0] in ("field", "func"):
            flipped = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
            return self._typed_cmp(flipped, right, left)
        if left[0] == "func" and left[1] in ("tolower", "toupper"):
            if right[0] != "lit" or right[1] != "str":
                raise _incompatible("Edm.String", right, op)
            return ("cmp", op, left, right)
        if left[0] != "field" or right[0] != "lit":
            raise BCError(
                400,
                "BadRequest_NotSupported",
                "Only comparisons between a property and a literal value are supported.",
            )
        fld: Field = left[2]
        lit = right
        value = _coerce_literal(fld, lit, op)
        return ("cmp", op, left, ("lit", fld.kind, value))


_EDM = {
    "guid": "Edm.Guid",
    "str": "Edm.String",
    "code": "Edm.String",
    "dec": "Edm.Decimal",
    "int": "Edm.Int32",
    "bool": "Edm.Boolean",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "enum": "Edm.String",
}
_LIT_EDM = {
    "str": "Edm.String",
    "guid": "Edm.Guid",
    "num": "Edm.Decimal",
    "bool": "Edm.Boolean",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "null": "null",
}
_OPNAME = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


def _incompatible(field_edm: str, lit: Node, op: str) -> BCError:
    return BCError(
        400,
        "BadRequest_NotFound",
        f"A binary operator with incompatible types was detected. Found operand types '{field_edm}' "
        f"and '{_LIT_EDM.get(lit[1], lit[1])}' for operator kind '{_OPNAME[op]}'.",
    )


def _coerce_literal(fld: Field, lit: Node, op: str) -> Any:
    kind, value = lit[1], lit[2]
    if kind == "null":
        return None
    if fld.kind in ("str", "code"):
        if kind != "str":
            raise _incompatible(_EDM[fld.kind], lit, op)
        return value
    if fld.kind == "enum":
        if kind != "str":
            raise _incompatible("Edm.String", lit, op)
        return decode_enum(value)
    if fld.kind == "guid":
        if kind != "guid":
            raise _incompatible("Edm.Guid", lit, op)
        return value
    if fld.kind in ("dec", "int"):
        if kind != "num":
            raise _incompatible(_EDM[fld.kind], lit, op)
        return value
    if fld.kind == "bool":
        if kind != "bool":
            raise _incompatible("Edm.Boolean", lit, op)
        return value
    if fld.kind == "date":
        if kind != "date":
            raise _incompatible("Edm.Date", lit, op)
        return value
    if fld.kind == "datetime":
        if kind != "datetime":
            raise _incompatible("Edm.DateTimeOffset", lit, op)
        return value
    raise _incompatible(_EDM.get(fld.kind, fld.kind), lit, op)


def _fields_of(node: Node) -> set[str]:
    tag = node[0]
    if tag == "field":
        return {node[1]}
    if tag in ("or", "and"):
        return _fields_of(node[1]) | _fields_of(node[2])
    if tag == "not":
        return _fields_of(node[1])
    if tag == "cmp":
        return _fields_of(node[2])
    if tag == "func":
        out: set[str] = set()
        for arg in node[2]:
            out |= _fields_of(arg)
        return out
    return set()


def _check_or(node: Node) -> None:
    tag = node[0]
    if tag == "or" and len(_fields_of(node)) > 1:
        # Message from business-central.md §2; the code is UNDOCUMENTED (sandbox choice).
        raise BCError(
            400,
            "BadRequest_NotSupported",
            "The 'OR' operator is not supported on distinct fields on an OData filter.",
        )
    if tag in ("or", "and"):
        _check_or(node[1])
        _check_or(node[2])
    elif tag == "not":
        _check_or(node[1])


def parse_filter(text: str, etype: EntityType, *, schema21: bool = False) -> Node:
    node = _Parser(text, etype, schema21).parse()
    _check_or(node)
    return node


# --------------------------------------------------------------------------- evaluation

Pred = Callable[[dict[str, Any]], bool]


def _getter(node: Node) -> Callable[[dict[str, Any]], Any]:
    if node[0] == "field":
        name = node[1]
        fld: Field = node[2]
        if fld.kind == "datetime":
            return lambda r: dt_key(r[name]) if r.get(name) else ""
        if fld.kind == "enum":
            return lambda r: r.get(name)
        return lambda r: r.get(name)
    if node[0] == "func" and node[1] in ("tolower", "toupper"):
        inner = _getter(node[2][0])
        if node[1] == "tolower":
            return lambda r: (inner(r) or "").lower()
        return lambda r: (inner(r) or "").upper()
    raise syntax_error("Unsupported expression.")


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def compile_filter(node: Node) -> Pred:
    tag = node[0]
    if tag == "or":
        a, b = compile_filter(node[1]), compile_filter(node[2])
        return lambda r: a(r) or b(r)
    if tag == "and":
        a, b = compile_filter(node[1]), compile_filter(node[2])
        return lambda r: a(r) and b(r)
    if tag == "not":
        a = compile_filter(node[1])
        return lambda r: not a(r)
    if tag == "lit":
        value = bool(node[2])
        return lambda r: value
    if tag == "cmp":
        get = _getter(node[2])
        op = _OPS[node[1]]
        value = node[3][2]
        return lambda r: op(get(r), value)
    if tag == "func":
        name = node[1]
        get = _getter(node[2][0])
        needle = node[2][1][2]
        if name == "contains":
            return lambda r: needle in (get(r) or "")
        if name == "startswith":
            return lambda r: (get(r) or "").startswith(needle)
        return lambda r: (get(r) or "").endswith(needle)
    raise syntax_error("Unsupported expression.")


def index_hints(node: Node) -> list[tuple[str, str, Any]]:
    """Top-level conjuncts usable by an index: (field, op, value) with op eq (value) or in (list)."""
    tag = node[0]
    if tag == "and":
        return index_hints(node[1]) + index_hints(node[2])
    if tag == "cmp" and node[2][0] == "field" and node[1] in ("eq", "gt", "ge"):
        return [(node[2][1], node[1], node[3][2])]
    if tag == "or":
        values = _or_eq_values(node)
        if values is not None:
            return [(values[0], "in", values[1])]
    return []


def _or_eq_values(node: Node) -> tuple[str, list[Any]] | None:
    if node[0] == "cmp" and node[1] == "eq" and node[2][0] == "field":
        return node[2][1], [node[3][2]]
    if node[0] == "or":
        a, b = _or_eq_values(node[1]), _or_eq_values(node[2])
        if a and b and a[0] == b[0]:
            return a[0], a[1] + b[1]
    return None


# --------------------------------------------------------------------------- other query options


@dataclass
class Expand:
    nav: str
    select: list[str] | None = None
    filter: str | None = None


@dataclass
class Query:
    filter: str | None = None
    select: list[str] | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: list[Expand] = field(default_factory=list)
    skiptoken: str | None = None
    schema21: bool = False


_KNOWN = {
    "$filter",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$expand",
    "$skiptoken",
    "$schemaversion",
    "$format",
    "company",
    "tenant",
}


def _int_option(name: str, text: str) -> int:
    if not re.fullmatch(r"\d+", text.strip()):
        raise syntax_error(
            f"Invalid value '{text}' for {name} query option found. The {name} query option "
            "requires a non-negative integer value."
        )
    return int(text)


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_query(query: dict[str, list[str]]) -> Query:
    q = Query()
    for key in query:
        if key.startswith("$") and key not in _KNOWN:
            raise syntax_error(f"The query parameter '{key}' is not supported.")

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    q.filter = one("$filter")
    sel = one("$select")
    if sel is not None:
        q.select = [s.strip() for s in sel.split(",") if s.strip()]
    ob = one("$orderby")
    if ob:
        for part in ob.split(","):
            bits = part.split()
            if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
                raise syntax_error(f"Syntax error in $orderby '{ob}'.")
            q.orderby.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    top = one("$top")
    if top is not None:
        q.top = _int_option("$top", top)
    skip = one("$skip")
    if skip is not None:
        q.skip = _int_option("$skip", skip)
    cnt = one("$count")
    if cnt is not None:
        if cnt not in ("true", "false"):
            raise syntax_error(f"'{cnt}' is not a valid count option.")
        q.count = cnt == "true"
    q.skiptoken = one("$skiptoken")
    q.schema21 = (one("$schemaversion") or "") == "2.1"
    exp = one("$expand")
    if exp:
        for part in _split_top(exp, ","):
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", part, re.S)
            if not m:
                raise syntax_error(f"Syntax error in $expand '{exp}'.")
            item = Expand(m.group(1))
            for opt in _split_top(m.group(2) or "", ";"):
                name, _, value = opt.partition("=")
                if name == "$select":
                    item.select = [s.strip() for s in value.split(",") if s.strip()]
                elif name == "$filter":
                    item.filter = value
                else:
                    raise syntax_error(f"The query option '{name}' is not supported inside $expand.")
            q.expand.append(item)
    return q
