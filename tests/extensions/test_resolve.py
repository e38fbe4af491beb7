"""Where a type comes from for a project: local > sources (host store) > pulled."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from swampd.errors import InvalidParams
from swampd.extensions.resolve import Resolver
from swampd.extensions.store import ExtensionStore
from swampd.extensions.typescan import types_in_source

from .helpers import MODEL_TYPE, NAME, VERSION, make_extension, model_source

ORIGINS = ("local", "host", "pulled")
COMBINATIONS = [c for n in range(1, 4) for c in itertools.combinations(ORIGINS, n)]


def build_project(tmp_path: Path, store: ExtensionStore, origins: tuple[str, ...]) -> tuple[Path, dict[str, str]]:
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".swamp.yaml").write_text("repoId: test\n")
    files: dict[str, str] = {}
    if "local" in origins:
        path = project / "extensions" / "models" / "server.ts"
        path.parent.mkdir(parents=True)
        path.write_text(model_source())
        files["local"] = str(path)
    if "host" in origins:
        entry = store.install(str(make_extension(tmp_path / "src")))
        store.link(str(project))
        files["host"] = str(Path(entry["path"]) / "models" / "server.ts")
    if "pulled" in origins:
        pulled = make_extension(project / ".swamp" / "pulled-extensions" / "@acme" / "tools")
        files["pulled"] = str(pulled / "models" / "server.ts")
    return project, files


@pytest.mark.parametrize("origins", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_resolution_order(tmp_path: Path, store: ExtensionStore, origins: tuple[str, ...]) -> None:
    project, files = build_project(tmp_path, store, origins)
    result = Resolver(store).resolve(str(project), MODEL_TYPE)
    expected = next(o for o in ORIGINS if o in origins)
    assert result["found"] is True
    assert result["origin"] == expected
    assert result["kind"] == "model"
    assert result["path"] == files[expected]
    assert [(c["origin"], c["status"]) for c in result["candidates"]] == [
        (o, "wins" if o == expected else "shadowed") for o in ORIGINS if o in origins
    ]
    if expected == "host":
        assert result["extension"] == f"{NAME}@{VERSION}"
    assert "local > sources > pulled" in result["reason"]
    shadowed = [o for o in origins if o != expected]
    if shadowed:
        assert "shadows the " + ", ".join(shadowed) in result["reason"]


def test_unlinked_host_entry_is_a_hint_not_a_winner(tmp_path: Path, store: ExtensionStore) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    store.install(str(make_extension(tmp_path / "src")))
    result = Resolver(store).resolve(str(project), MODEL_TYPE)
    assert result["found"] is False and result["origin"] is None
    assert result["candidates"][0]["status"] == "not_linked"
    assert f"{NAME}@{VERSION} provides it but is not linked" in result["reason"]
    assert Resolver(store).resolve(str(project), "@acme/unknown")["candidates"] == []


def test_plain_sources_honour_only_and_direct_layout(tmp_path: Path, store: ExtensionStore) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    direct = tmp_path / "direct"
    direct.mkdir()
    (direct / "server.ts").write_text(model_source())
    standard = make_extension(tmp_path / "standard")
    (project / ".swamp-sources.yaml").write_text(
        f"sources:\n  - path: {standard}\n    only: [vaults]\n  - path: ../direct\n"
    )
    result = Resolver(store).resolve(str(project), MODEL_TYPE)
    assert result["origin"] == "source"
    assert result["path"] == str(direct / "server.ts")
    assert [c["origin"] for c in result["candidates"]] == ["source"]


def test_resolve_refuses_bad_params(tmp_path: Path, store: ExtensionStore) -> None:
    with pytest.raises(InvalidParams):
        Resolver(store).resolve(str(tmp_path), "server")
    with pytest.raises(InvalidParams):
        Resolver(store).resolve("relative", MODEL_TYPE)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('export const model = { type: "@a/x", methods: {} };', [("model", "@a/x")]),
        ("export const vault = {\n  name: 'v',\n  'type': '@a/v',\n};", [("vault", "@a/v")]),
        ("const datastore = defineDatastore({ type: `@a/d` });\nexport { datastore };", [("datastore", "@a/d")]),
        ('const impl = { type: "@a/r" };\nexport { impl as report };', []),
        ('export const report: Report = { schema: { type: "@a/nested" }, type: "@a/r" };', [("report", "@a/r")]),
        ('export const model = {\n  // type: "@a/comment"\n  description: "type: \'@a/str\'",\n};', []),
        ('const model = { type: "@a/private" };', []),
        ('export const extension = { type: "@a/x", methods: {} };', []),
    ],
)
def test_type_heuristic(source: str, expected: list[tuple[str, str]]) -> None:
    assert types_in_source(source) == expected
