"""Where a model/vault/datastore/report type comes from for one project, and why.

swamp's order (reference §2.4) is local > sources > pulled, the first `(kind, type)` wins:

1. local: the project's `extensions/<kind>/` (models and vaults honour `.swamp.yaml`'s
   `modelsDir` / `vaultsDir`);
2. sources: each `.swamp-sources.yaml` entry in file order; an entry that points into the
   host store is reported as origin `host`, any other as `source`;
3. pulled: `.swamp/pulled-extensions/<@collective/name>/`.

Host store entries the project does not link are listed as candidates that swamp would not
load, with the hint to link them. Types are found by `typescan` (a source heuristic) for
files on disk and read from the entry record for host store entries.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import yaml

from swampd.errors import InvalidParams, NotFound
from swampd.extensions import sources
from swampd.extensions.store import Entry, ExtensionStore
from swampd.extensions.typescan import scan_tree

KIND_DIRS = {"model": "models", "vault": "vaults", "datastore": "datastores", "report": "reports"}
PULLED_DIR = os.path.join(".swamp", "pulled-extensions")


class Resolver:
    def __init__(self, store: ExtensionStore) -> None:
        self.store = store

    def resolve(self, project: str, type_name: str) -> dict[str, Any]:
        if not isinstance(type_name, str) or not type_name.startswith("@") or "/" not in type_name:
            raise InvalidParams("type must look like @collective/name")
        if not isinstance(project, str) or not os.path.isabs(project):
            raise InvalidParams("project must be an absolute path")
        root = os.path.realpath(project)
        if not os.path.isdir(root):
            raise NotFound(f"project directory {project} does not exist")
        wanted = type_name.lower()
        entries = {e.content: e for e in self.store.entries()}
        candidates: list[dict[str, Any]] = []
        candidates += self._local(root, wanted)
        source_dirs = self._source_dirs(root)
        linked_contents = {directory for directory, _ in source_dirs}
        candidates += self._sources(source_dirs, wanted, entries)
        candidates += self._pulled(root, wanted)
        winner: dict[str, Any] | None = None
        for cand in candidates:
            if winner is None:
                winner = cand
                cand["status"] = "wins"
            elif cand["kind"] == winner["kind"]:
                cand["status"] = "shadowed"
                cand["reason"] = f"shadowed by the {winner['origin']} copy ({winner['path']})"
            else:
                cand["status"] = "other_kind"
                cand["reason"] = f"a {cand['kind']} of the same name; swamp keys types by kind"
        unlinked = [
            self._host_candidate(e, wanted, "not_linked")
            for content, e in entries.items()
            if content not in linked_contents and self._entry_file(e, wanted)
        ]
        for cand in unlinked:
            cand["reason"] = (
                f"in the host store but not linked to this project; `swamp ext link {e_key(cand)}` "
                "makes swamp load it"
            )
        result: dict[str, Any] = {
            "project": root,
            "type": type_name,
            "found": winner is not None,
            "origin": winner["origin"] if winner else None,
            "kind": winner["kind"] if winner else None,
            "path": winner["path"] if winner else None,
            "extension": winner.get("extension") if winner else None,
            "candidates": candidates + unlinked,
        }
        result["reason"] = self._reason(winner, candidates, unlinked, type_name)
        return result

    @staticmethod
    def _reason(
        winner: dict[str, Any] | None,
        candidates: list[dict[str, Any]],
        unlinked: list[dict[str, Any]],
        type_name: str,
    ) -> str:
        if winner is None:
            hint = (
                f"; host store entry {e_key(unlinked[0])} provides it but is not linked to this project"
                if unlinked
                else ""
            )
            return f"no local, linked or pulled extension provides {type_name}{hint}"
        shadowed = [c["origin"] for c in candidates if c.get("status") == "shadowed"]
        why = {
            "local": "the project's own extensions/ directory, which swamp loads first",
            "host": f"host store entry {winner.get('extension')} linked in {sources.SOURCES_FILE}",
            "source": f"the source {winner.get('source')} listed in {sources.SOURCES_FILE}",
            "pulled": f"pulled extension {winner.get('extension')} in {PULLED_DIR}",
        }[winner["origin"]]
        tail = f"; it shadows the {', '.join(shadowed)} cop{'ies' if len(shadowed) > 1 else 'y'}" if shadowed else ""
        return f"from {why}{tail} (order: local > sources > pulled)"

    # -- origins --------------------------------------------------------------------------

    @staticmethod
    def _matches(root: str, wanted: str, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        """`[(kind, absolute file)]` of files below `root` providing `wanted`."""
        out = []
        for kind, type_name, rel in scan_tree(root):
            if type_name.lower() == wanted and (kinds is None or kind in kinds):
                out.append((kind, os.path.join(root, *rel.split("/"))))
        return out

    def _local(self, root: str, wanted: str) -> list[dict[str, Any]]:
        dirs = {kind: os.path.join(root, "extensions", d) for kind, d in KIND_DIRS.items()}
        config = self._swamp_yaml(root)
        for kind, key in (("model", "modelsDir"), ("vault", "vaultsDir")):
            if isinstance(config.get(key), str):
                dirs[kind] = os.path.join(root, os.path.expanduser(config[key]))
        out = []
        for kind, path in dirs.items():
            for k, file in self._matches(path, wanted, (kind,)):
                out.append({"origin": "local", "kind": k, "path": file})
        return out

    @staticmethod
    def _swamp_yaml(root: str) -> dict[str, Any]:
        try:
            with open(os.path.join(root, ".swamp.yaml"), "rb") as fh:
                data = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}

    def _source_dirs(self, root: str) -> list[tuple[str, dict[str, Any]]]:
        """`[(directory, entry)]` for each `.swamp-sources.yaml` entry, globs expanded."""
        path = os.path.join(root, sources.SOURCES_FILE)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError):
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        for entry in sources.read_entries(text):
            raw = os.path.expandvars(os.path.expanduser(entry["path"]))
            full = raw if os.path.isabs(raw) else os.path.join(root, raw)
            matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
            out.extend((os.path.normpath(m), entry) for m in matches if os.path.isdir(m))
        return out

    def _sources(
        self, source_dirs: list[tuple[str, dict[str, Any]]], wanted: str, entries: dict[str, Entry]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for directory, entry in source_dirs:
            only = entry.get("only")
            kinds = tuple(k for k, d in KIND_DIRS.items() if only is None or d in only)
            store_entry = entries.get(directory)
            if store_entry is not None:
                cand = self._host_candidate(store_entry, wanted, "")
                if cand["path"] and cand["kind"] in kinds:
                    out.append(cand)
                continue
            layout = [d for k, d in KIND_DIRS.items() if os.path.isdir(os.path.join(directory, d))]
            roots = [os.path.join(directory, d) for d in layout] if layout else [directory]
            for scan_root in roots:
                for kind, file in self._matches(scan_root, wanted, kinds):
                    out.append({"origin": "source", "kind": kind, "path": file, "source": entry["path"]})
        return out

    @staticmethod
    def _entry_file(entry: Entry, wanted: str) -> tuple[str, str] | None:
        for kind, names in entry.record.get("types", {}).items():
            for name in names:
                if name.lower() == wanted:
                    rel = entry.record.get("type_files", {}).get(name, "")
                    return kind, os.path.join(entry.content, *rel.split("/"))
        return None

    def _host_candidate(self, entry: Entry, wanted: str, status: str) -> dict[str, Any]:
        hit = self._entry_file(entry, wanted)
        cand: dict[str, Any] = {
            "origin": "host",
            "kind": hit[0] if hit else None,
            "path": hit[1] if hit else None,
            "extension": entry.key,
        }
        if status:
            cand["status"] = status
        return cand

    def _pulled(self, root: str, wanted: str) -> list[dict[str, Any]]:
        base = os.path.join(root, PULLED_DIR)
        out: list[dict[str, Any]] = []
        if not os.path.isdir(base):
            return out
        for manifest in sorted(glob.glob(os.path.join(base, "@*", "**", "manifest.yaml"), recursive=True)):
            ext_dir = os.path.dirname(manifest)
            name = os.path.relpath(ext_dir, base).replace(os.sep, "/")
            for kind, d in KIND_DIRS.items():
                for k, file in self._matches(os.path.join(ext_dir, d), wanted, (kind,)):
                    out.append({"origin": "pulled", "kind": k, "path": file, "extension": name})
        return out


def e_key(cand: dict[str, Any]) -> str:
    return str(cand.get("extension") or "")
