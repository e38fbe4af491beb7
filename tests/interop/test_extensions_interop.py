"""Extensions: swampd's host store (install, link, resolve) beside the real swamp, which loads and
runs what swampd linked; swampd's resolution agrees with what swamp actually runs when a source
added by swamp and a local copy compete for the type, and unlinking keeps what swamp added."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DaemonProcess, RealSwamp

from .conftest import swampd_beside

NAME, TYPE = "@acme/greeter", "@acme/greeter"


def greeter_source(origin: str) -> str:
    """A model that writes `origin` to the file its `marker` argument names: which copy ran."""
    return (
        'import { z } from "npm:zod@4";\n\n'
        "export const model = {\n"
        f'  type: "{TYPE}",\n'
        '  version: "2026.01.15.1",\n'
        "  methods: {\n"
        "    hello: {\n"
        '      description: "say which copy this is",\n'
        "      arguments: z.object({ marker: z.string() }),\n"
        "      execute: async (args: { marker: string }) => {\n"
        f'        await Deno.writeTextFile(args.marker, "{origin}");\n'
        "        return { dataHandles: [] };\n"
        "      },\n"
        "    },\n"
        "  },\n"
        "};\n"
    )


def make_greeter(root: Path, version: str, origin: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "greeter.ts").write_text(greeter_source(origin))
    (root / "manifest.yaml").write_text(yaml.safe_dump(
        {"manifestVersion": 1, "name": NAME, "version": version, "description": "says which copy ran",
         "models": ["greeter.ts"]}, sort_keys=False))
    return root


class World:
    def __init__(self, real: RealSwamp, repo: Path, daemon: DaemonProcess, tmp: Path) -> None:
        self.real, self.repo, self.daemon, self.tmp = real, repo, daemon, tmp
        self.runs = 0

    def swamp(self, *args: str) -> Any:
        return self.real.json(*args, cwd=self.repo)

    def call(self, rpc_method: str, **params: Any) -> Any:
        return self.daemon.call(rpc_method, params)

    def which(self) -> dict[str, Any]:
        return self.call("extensions.resolve", project=str(self.repo), type=TYPE)

    def sources(self) -> list[str]:
        return [s["path"] for s in self.swamp("extension", "source", "list")["sources"]]

    def run_greeter(self, *, through_swampd: bool = False) -> str:
        """Which copy of the type swamp ran (the text the model wrote)."""
        self.runs += 1
        marker = self.tmp / f"ran-{self.runs}.txt"
        if through_swampd:
            record = self.call("jobs.submit", kind="swamp", model="g1", method="hello", repo=str(self.repo),
                               inputs={"marker": str(marker)})
            assert record["state"] == "succeeded", record
        else:
            run = self.swamp("model", "method", "run", "g1", "hello", "--input", f"marker={marker}")
            assert run["status"] == "succeeded", run
        return marker.read_text()


@pytest.fixture(scope="module")
def world(module_real_swamp: RealSwamp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("ext")
    repo = module_real_swamp.init_repo(tmp / "repo")
    with swampd_beside(module_real_swamp) as daemon:
        yield World(module_real_swamp, repo, daemon, tmp)


def test_installed_and_linked_by_swampd_loaded_and_run_by_swamp(world: World) -> None:
    installed = world.call("extensions.install", source=str(make_greeter(world.tmp / "v1", "2026.01.15.1", "host-v1")))
    assert (installed["status"], installed["types"]) == ("installed", {"model": [TYPE]})
    linked = world.call("extensions.link", project=str(world.repo))
    assert linked["linked"] == [f"{NAME}@2026.01.15.1"]
    (source,) = world.swamp("extension", "source", "list")["sources"]
    assert (source["path"], source["status"], source["resolvedKinds"]) == (installed["path"], "valid", ["models"])
    which = world.which()
    assert (which["origin"], which["extension"]) == ("host", f"{NAME}@2026.01.15.1")
    world.swamp("model", "create", TYPE, "g1")
    assert world.run_greeter() == "host-v1"
    assert world.run_greeter(through_swampd=True) == "host-v1"  # a job of the daemon runs the same copy


def test_linking_another_version_is_what_swamp_runs_next(world: World) -> None:
    installed = world.call("extensions.install", source=str(make_greeter(world.tmp / "v2", "2026.02.01.1", "host-v2")))
    world.call("extensions.link", project=str(world.repo), extensions=[f"{NAME}@2026.02.01.1"])
    assert world.sources() == [installed["path"]]
    assert world.which()["extension"] == f"{NAME}@2026.02.01.1"
    assert world.run_greeter() == "host-v2"


def test_resolution_order_agrees_with_what_swamp_runs(world: World) -> None:
    """swamp's order: local > sources (file order) > pulled; swampd's resolve names the winner swamp runs."""
    other = make_greeter(world.tmp / "other-source", "2026.01.15.1", "added-source")
    world.swamp("extension", "source", "add", str(other))  # after swampd's entry in .swamp-sources.yaml
    which = world.which()
    assert which["origin"] == "host"
    statuses = {(c["origin"], c.get("extension")): c["status"] for c in which["candidates"]}
    assert statuses == {("host", f"{NAME}@2026.02.01.1"): "wins", ("source", None): "shadowed",
                        ("host", f"{NAME}@2026.01.15.1"): "not_linked"}
    assert world.run_greeter() == "host-v2"
    local = world.repo / "extensions" / "models" / "greeter.ts"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(greeter_source("local"))
    which = world.which()
    assert (which["origin"], which["path"]) == ("local", str(local))
    assert world.run_greeter() == "local"
    local.unlink()


def test_unlink_keeps_what_swamp_added(world: World) -> None:
    store_path = world.sources()[0]
    unlinked = world.call("extensions.unlink", project=str(world.repo))
    assert unlinked["action"] == "edited"  # swamp added a source since: only swampd's entry goes
    assert world.sources() == [str(world.tmp / "other-source")]
    assert store_path not in world.sources()
    assert world.which()["origin"] == "source"
    assert world.run_greeter() == "added-source"
    assert all(not e["linked_projects"] for e in world.call("extensions.list")["extensions"])


def test_an_entry_swamp_took_out_is_no_longer_linked_for_swampd(world: World) -> None:
    """`swamp extension source rm` of swampd's entry: swampd no longer counts the project as linking it,
    so removing the entry needs no force (was: `conflict`, the project named)."""
    world.call("extensions.link", project=str(world.repo), extensions=[f"{NAME}@2026.02.01.1"])
    store_path = world.sources()[-1]
    world.swamp("extension", "source", "rm", store_path)
    listed = {f"{e['name']}@{e['version']}": e["linked_projects"] for e in world.call("extensions.list")["extensions"]}
    assert listed[f"{NAME}@2026.02.01.1"] == []
    removed = world.call("extensions.remove", name=NAME, version="2026.02.01.1")
    assert removed == {"removed": [f"{NAME}@2026.02.01.1"], "unlinked_projects": []}
    assert world.sources() == [str(world.tmp / "other-source")]
