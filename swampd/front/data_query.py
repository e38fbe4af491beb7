"""`swamp data query PREDICATE [--limit N] --json` over swamp's catalog (`.swamp/data/_catalog.db`),
where the result can be produced exactly (src/domain/data/data_query_service.ts,
src/presentation/renderers/data_query.ts).

The front evaluates a small, exact part of CEL: `&&`, `||`, `!`, parentheses, and comparisons of
the string fields below with `==`/`!=` and a plain string literal, or of `isLatest`/`streaming`
with `true`/`false`. Any other predicate, `--select`, the log format, a catalog swamp would
rebuild first (not populated, another schema version), or a record whose attributes hold a vault
reference (swamp resolves those) passes to swamp. Rows come in catalog order, as swamp reads them.
"""

from __future__ import annotations

import os
import re
import sqlite3
from typing import Any

from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.lookup import positive_int
from swampd.front.render import Answer

PATH = ("data", "query")
VALUE_OPTIONS = frozenset({"--repo-dir", "--limit"})
FLAG_OPTIONS: frozenset[str] = frozenset()

CATALOG_SCHEMA_VERSION = "4"
"""src/infrastructure/persistence/catalog_store.ts (a test checks it against swamp's source)."""

STRING_FIELDS = {
    "id": "id", "name": "data_name", "createdAt": "created_at", "modelName": "model_name",
    "modelType": "type_normalized", "specName": "spec_name", "dataType": "data_type",
    "contentType": "content_type", "lifetime": "lifetime", "ownerType": "owner_type", "ownerRef": "owner_ref",
    "workflowRunId": "workflow_run_id", "workflowName": "workflow_name", "jobName": "job_name",
    "stepName": "step_name", "source": "source",
}
BOOL_FIELDS = {"isLatest": "is_latest", "streaming": "streaming"}
VAULT_REF = re.compile(r"^\$\{\{\s*vault\.get\(\s*'([^']+)'\s*,\s*'([^']+)'\s*\)\s*\}\}$")

_TOKEN = re.compile(r'\s*(?:(?P<op>&&|\|\||==|!=|!|\(|\))|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|"(?P<str>[^"\\\n]*)")')


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Pass("predicate")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """or := and ('||' and)* ; and := unary ('&&' unary)* ; unary := '!' unary | '(' or ')' | cmp."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.fields: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise Pass("predicate")
        self.i += 1
        return tok[1]

    def parse(self) -> Any:
        node = self.or_()
        if self.peek() is not None:
            raise Pass("predicate")
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.peek() == ("op", "||"):
            self.i += 1
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.unary()
        while self.peek() == ("op", "&&"):
            self.i += 1
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Any:
        tok = self.peek()
        if tok == ("op", "!"):
            self.i += 1
            return ("not", self.unary())
        if tok == ("op", "("):
            self.i += 1
            node = self.or_()
            self.take("op", ")")
            return node
        field = self.take("id")
        op = self.take("op")
        if op not in ("==", "!="):
            raise Pass("predicate")
        tok = self.peek()
        if field in STRING_FIELDS and tok is not None and tok[0] == "str":
            self.i += 1
            value: Any = tok[1]
        elif field in BOOL_FIELDS and tok in (("id", "true"), ("id", "false")):
            self.i += 1
            value = tok[1] == "true"
        else:
            raise Pass("predicate")
        self.fields.add(field)
        return ("cmp", field, op, value)


def _eval(node: Any, record: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "and":
        return _eval(node[1], record) and _eval(node[2], record)
    if kind == "or":
        return _eval(node[1], record) or _eval(node[2], record)
    if kind == "not":
        return not _eval(node[1], record)
    _, field, op, value = node
    equal = record[field] == value
    return equal if op == "==" else not equal


def _has_vault_ref(value: Any) -> bool:
    if isinstance(value, str):
        return bool(VAULT_REF.match(value))
    if isinstance(value, dict):
        return any(_has_vault_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_vault_ref(v) for v in value)
    return False


def answer(call: Call, ctx: FrontContext) -> Answer:
    if not call.json:
        raise Pass("log_format")
    if len(call.parsed.positionals) != 1:
        raise Pass("arguments")
    predicate = call.parsed.positionals[0]
    limit = positive_int(call.parsed.options.get("--limit"))
    parser = _Parser(_tokens(predicate))
    tree = parser.parse()
    history = bool(parser.fields & {"isLatest"})
    repo = ctx.markers.locate(call)
    rows = _rows(os.path.join(repo.data_dir, "_catalog.db"), history)
    results = []
    for row in rows:
        record = _record(row)
        if not history and not record["isLatest"]:
            continue
        if _eval(tree, record):
            results.append(row)
            if limit is not None and len(results) >= limit:
                break
    out = [_json_record(row, repo.data_dir) for row in results]
    answer_ = Answer()
    answer_.log(jsjson.stringify({"predicate": predicate, "results": out, "total": len(out),
                                  "limited": limit is not None and len(out) >= limit}))
    return answer_


def _rows(path: str, history: bool) -> list[sqlite3.Row]:
    if not os.path.isfile(path):
        raise Pass("catalog")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        raise Pass("catalog") from None
    try:
        db.row_factory = sqlite3.Row
        meta = dict(db.execute("SELECT key, value FROM catalog_meta").fetchall())
        if meta.get("schema_version") != CATALOG_SCHEMA_VERSION or meta.get("populated") != "true":
            raise Pass("catalog_not_ready")  # swamp rebuilds it first
        sql = "SELECT * FROM catalog" + ("" if history else " WHERE is_latest = 1") + " ORDER BY rowid"
        rows = list(db.execute(sql).fetchall())
        if any(row["namespace"] != "" for row in rows):
            raise Pass("namespaces")  # another repo's records: swamp may fetch their content
        return rows
    except sqlite3.Error:
        raise Pass("catalog") from None
    finally:
        db.close()


def _record(row: sqlite3.Row) -> dict[str, Any]:
    record: dict[str, Any] = {field: row[column] for field, column in STRING_FIELDS.items()}
    record.update({field: row[column] == 1 for field, column in BOOL_FIELDS.items()})
    return record


def _json_record(row: sqlite3.Row, data_dir: str) -> dict[str, Any]:
    try:
        tags = jsjson.parse(row["tags"])
    except jsjson.NotJson:
        tags = {}
    content: Any = ""
    if row["content_type"] == "application/json":
        raw_path = os.path.join(data_dir, *row["type_normalized"].split("/"), row["model_id"], row["data_name"],
                                str(row["version"]), "raw")
        try:
            with open(raw_path, "rb") as fh:
                raw = fh.read()
            content = jsjson.parse(jsjson.text_decode(raw))
        except FileNotFoundError:
            content = {}
        except jsjson.NotJson:
            content = {}
        except OSError:
            raise Pass("data_io") from None
        if _has_vault_ref(content):
            raise Pass("vault_ref")
    return {
        "id": row["id"], "name": row["data_name"], "version": row["version"], "isLatest": row["is_latest"] == 1,
        "createdAt": row["created_at"], "namespace": row["namespace"], "tags": tags,
        "modelName": row["model_name"], "modelId": row["model_id"], "modelType": row["type_normalized"],
        "specName": row["spec_name"], "dataType": row["data_type"], "contentType": row["content_type"],
        "lifetime": row["lifetime"], "ownerType": row["owner_type"], "streaming": row["streaming"] == 1,
        "size": row["size"], "ownerRef": row["owner_ref"], "workflowRunId": row["workflow_run_id"],
        "workflowName": row["workflow_name"], "jobName": row["job_name"], "stepName": row["step_name"],
        "source": row["source"], "content": content,
    }
