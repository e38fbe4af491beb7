"""Linking host store entries into projects' .swamp-sources.yaml and unlinking them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from swampd.errors import InvalidInput, NotFound
from swampd.extensions import sources
from swampd.extensions.store import ExtensionStore

from .helpers import NAME, VERSION, make_extension

EXISTING = """\
# Sources shared by the platform team.
sources:
    # team models, vendored
    - path: ~/team/extensions   # keep: used by CI
      only: [models, vaults]
    - path: "../shared/*"
"""


def swamp_sources(path: Path) -> list[dict]:
    """Parse the file as swamp does and check the shape swamp accepts (reference §2.2)."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and set(data) == {"sources"}
    assert isinstance(data["sources"], list)
    for entry in data["sources"]:
        assert isinstance(entry["path"], str) and entry["path"]
        assert set(entry) <= {"path", "only", "installedSkills"}
        assert all(k in sources.ONLY_KINDS for k in entry.get("only", []))
    return data["sources"]


@pytest.fixture
def installed(tmp_path: Path, store: ExtensionStore) -> str:
    return store.install(str(make_extension(tmp_path / "src")))["path"]


def test_two_projects_link_one_copy_and_unlink_restores_them(
    tmp_path: Path, store: ExtensionStore, installed: str
) -> None:
    with_file = tmp_path / "alpha"
    without_file = tmp_path / "beta"
    with_file.mkdir()
    without_file.mkdir()
    original = EXISTING.encode()
    (with_file / ".swamp-sources.yaml").write_bytes(original)

    for project in (with_file, without_file):
        result = store.link(str(project))
        assert result["linked"] == [f"{NAME}@{VERSION}"]

    alpha = swamp_sources(with_file / ".swamp-sources.yaml")
    assert alpha == [
        {"path": "~/team/extensions", "only": ["models", "vaults"]},
        {"path": "../shared/*"},
        {"path": installed},
    ]
    text = (with_file / ".swamp-sources.yaml").read_text()
    for kept in ("# Sources shared by the platform team.", "# team models, vendored", "# keep: used by CI",
                 '"../shared/*"', "    - path: ~/team/extensions"):
        assert kept in text
    assert swamp_sources(without_file / ".swamp-sources.yaml") == [{"path": installed}]
    # one shared copy: both point at the same store directory
    assert store.list()[0]["linked_projects"] == sorted([str(with_file.resolve()), str(without_file.resolve())])

    assert store.unlink(str(with_file))["action"] == "restored"
    assert (with_file / ".swamp-sources.yaml").read_bytes() == original
    assert store.unlink(str(without_file))["action"] == "deleted"
    assert not (without_file / ".swamp-sources.yaml").exists()
    assert store.list()[0]["linked_projects"] == []


def test_link_is_idempotent_and_switches_versions(tmp_path: Path, store: ExtensionStore, installed: str) -> None:
    newer = store.install(str(make_extension(tmp_path / "v2", version="2026.03.01.1")))["path"]
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".swamp-sources.yaml").write_text(EXISTING)
    store.link(str(project), [f"{NAME}@{VERSION}"])
    store.link(str(project), [f"{NAME}@{VERSION}"])
    assert [s["path"] for s in swamp_sources(project / ".swamp-sources.yaml")][2:] == [installed]
    store.link(str(project))  # default: the newest version of every name, replacing the older one
    assert [s["path"] for s in swamp_sources(project / ".swamp-sources.yaml")][2:] == [newer]
    assert store.list()[1]["linked_projects"] == [str(project.resolve())]
    assert store.list()[0]["linked_projects"] == []
    store.unlink(str(project))
    assert (project / ".swamp-sources.yaml").read_text() == EXISTING


def test_unlink_after_user_edit_keeps_the_edit(tmp_path: Path, store: ExtensionStore, installed: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".swamp-sources.yaml").write_text(EXISTING)
    store.link(str(project))
    path = project / ".swamp-sources.yaml"
    path.write_text(path.read_text() + "    - path: ./added-later  # by hand\n")
    assert store.unlink(str(project))["action"] == "edited"
    text = path.read_text()
    assert installed not in text
    assert "# by hand" in text and "# keep: used by CI" in text
    assert [s["path"] for s in swamp_sources(path)] == ["~/team/extensions", "../shared/*", "./added-later"]


def test_a_link_the_file_no_longer_lists_is_not_a_link(tmp_path: Path, store: ExtensionStore, installed: str) -> None:
    """swamp edits the file too: `swamp extension source rm PATH` drops the entry (and the file with its
    last one; checked with the real swamp in tests/interop/test_extensions_interop.py)."""
    project = tmp_path / "proj"
    project.mkdir()
    store.link(str(project))
    assert store.list()[0]["linked_projects"] == [str(project)]
    (project / ".swamp-sources.yaml").unlink()  # what swamp does when it removes the only source
    assert store.list()[0]["linked_projects"] == []
    assert store.remove(NAME)["removed"] == [f"{NAME}@{VERSION}"]
    assert store._read_links()["projects"] == {}  # the stale record is dropped with the entry


def test_a_sources_file_swampd_cannot_read_keeps_its_links(tmp_path: Path, store: ExtensionStore,
                                                           installed: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    store.link(str(project))
    (project / ".swamp-sources.yaml").write_text("sources: {broken: true}\n")
    assert store.list()[0]["linked_projects"] == [str(project)]  # the safe side: remove still needs force


def test_unlink_one_of_two_extensions(tmp_path: Path, store: ExtensionStore, installed: str) -> None:
    other = store.install(str(make_extension(
        tmp_path / "other", name="@acme/more", models={"x.ts": 'export const model = { type: "@acme/x" };\n'}
    )))["path"]
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".swamp-sources.yaml").write_text(EXISTING)
    store.link(str(project))
    store.unlink(str(project), [NAME])
    assert [s["path"] for s in swamp_sources(project / ".swamp-sources.yaml")][2:] == [other]
    store.unlink(str(project), ["@acme/more"])
    assert (project / ".swamp-sources.yaml").read_text() == EXISTING


def test_link_refusals(tmp_path: Path, store: ExtensionStore) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    with pytest.raises(NotFound, match="no extensions are installed"):
        store.link(str(project))
    store.install(str(make_extension(tmp_path / "src")))
    with pytest.raises(NotFound, match="does not exist"):
        store.link(str(tmp_path / "missing"))
    with pytest.raises(NotFound, match="not installed"):
        store.link(str(project), ["@acme/none"])
    (project / ".swamp-sources.yaml").write_text("sources: {not: a list}\n")
    with pytest.raises(InvalidInput, match="'sources' must be a list"):
        store.link(str(project))
    assert (project / ".swamp-sources.yaml").read_text() == "sources: {not: a list}\n"
    assert store.list()[0]["linked_projects"] == []
