"""The [extensions] config table, the service container wiring, and .swamp-sources.yaml edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from swampd.config import load_config
from swampd.errors import InvalidInput
from swampd.extensions import sources
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.store import ExtensionStore
from swampd.services import Services

from .helpers import NAME, make_extension


def test_settings_from_mapping() -> None:
    assert ExtensionSettings.from_mapping({}) == ExtensionSettings()
    parsed = ExtensionSettings.from_mapping({"max_files": 500, "lock_timeout": 2})
    assert (parsed.max_files, parsed.lock_timeout) == (500, 2.0)
    with pytest.raises(InvalidInput, match="unknown \\[extensions\\] keys: max_size"):
        ExtensionSettings.from_mapping({"max_size": 1})
    with pytest.raises(InvalidInput, match="max_files must be a positive number"):
        ExtensionSettings.from_mapping({"max_files": 0})
    with pytest.raises(InvalidInput, match="max_files must be an integer"):
        ExtensionSettings.from_mapping({"max_files": True})


@pytest.mark.anyio
async def test_services_builds_the_store_under_data_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[extensions]\nmax_files = 7\n")
    config = load_config(env={"SWAMPD_HOME": str(home), "HOME": str(tmp_path)})
    services = Services(config)
    store = services.extensions.store
    assert store.root == os.path.join(config.paths.data_dir, "extensions")
    assert store.settings.max_files == 7
    stale = Path(store.staging_dir) / "deadbeef"
    stale.mkdir(parents=True)
    (stale / "half-written.ts").write_text("x")
    seen: list[tuple[str, dict]] = []
    services.bus.publish = lambda topic, data: seen.append((topic, data))  # type: ignore[method-assign]
    assert (await services.extensions.list()) == []
    assert not stale.exists()
    assert seen == [("extensions", {"type": "extension.cleaned", "removed": 1})]


def test_symlinked_sources_file_is_written_through(tmp_path: Path, store: ExtensionStore) -> None:
    store.install(str(make_extension(tmp_path / "src")))
    project = tmp_path / "proj"
    project.mkdir()
    shared = tmp_path / "shared-sources.yaml"
    shared.write_text("sources: []\n")
    (project / ".swamp-sources.yaml").symlink_to(shared)
    store.link(str(project))
    assert (project / ".swamp-sources.yaml").is_symlink()
    assert NAME in shared.read_text()
    store.unlink(str(project))
    assert shared.read_text() == "sources: []\n"


def test_refuses_malformed_sources_files() -> None:
    for text, message in [
        ("- just a list\n", "must be a mapping"),
        ("sources:\n  - only: [models]\n", "'path' string"),
        ("sources:\n  - path: x\n    only: [gadgets]\n", "only must list kinds"),
        ("sources: [\n", "not valid YAML"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            sources.add_paths(text, ["/x"], lambda p: False)


paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/._-", min_size=1, max_size=20).filter(
    lambda p: p.strip() and not p.startswith(("-", "."))
)
entries = st.lists(
    st.tuples(paths, st.none() | st.lists(st.sampled_from(sources.ONLY_KINDS), min_size=1, max_size=3, unique=True),
              st.booleans()),
    max_size=5,
)


def render(items: list[tuple[str, list[str] | None, bool]], indent: int) -> str:
    pad = " " * indent
    lines = ["# header comment", "sources:"]
    for i, (path, only, comment) in enumerate(items):
        lines.append(f'{pad}- path: "{path}"' + (f"  # note {i}" if comment else ""))
        if only:
            lines.append(f"{pad}  only: [{', '.join(only)}]")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(items=entries, indent=st.sampled_from([0, 2, 4]))
def test_add_then_remove_round_trips(items: list[tuple[str, list[str] | None, bool]], indent: int) -> None:
    text = render(items, indent) if items else "# header comment\nsources: []\n"
    ours = "/store/@acme/tools/2026.01.15.1/extension"
    added = sources.add_paths(text, [ours], lambda p: p.startswith("/store/"))
    parsed = yaml.safe_load(added)["sources"]
    assert parsed[-1] == {"path": ours}
    assert parsed[:-1] == yaml.safe_load(text)["sources"]
    for i, (_, _, comment) in enumerate(items):
        assert (f"# note {i}" in added) == comment
    removed, left = sources.remove_paths(added, lambda p: p.startswith("/store/"))
    assert left == len(items)
    assert yaml.safe_load(removed)["sources"] == yaml.safe_load(text)["sources"]
    assert "# header comment" in removed
