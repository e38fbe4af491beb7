"""Which swamp repo a call is in, and whether swamp would print anything around the command there.

swamp resolves the repo (`--repo-dir` > `SWAMP_REPO_DIR` > the nearest ancestor of the cwd with a
`.swamp.yaml`, up to the git root or ten levels: src/cli/context.ts) and, before and after every
command, may print warnings: stale or missing extensions, superseded skills, the login nudge, an
update banner (src/cli/mod.ts). The front answers only where none of those can appear; anything
it does not know to be quiet raises Pass.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from typing import Any

from swampd.front import jsyaml
from swampd.front.call import Call, Pass

MARKER = ".swamp.yaml"
MAX_ANCESTOR_DEPTH = 10
ONE_DAY = 24 * 60 * 60

MARKER_KEYS = frozenset({
    "swampVersion", "initializedAt", "upgradedAt", "repoId", "telemetryEndpoint", "telemetryDisabled",
    "telemetryKeepFlushed", "tools", "tool", "logLevel", "gitignoreManaged", "trustedCollectives",
    "trustMemberCollectives", "lastSkillMigrationWarning", "skillMigrationDismissed", "lastStalenessWarning",
    "autoGc", "defaultVault",
})
"""`.swamp.yaml` keys the front understands; any other (custom dirs, a datastore, ...) passes."""

SKILL_DIRS = {"claude": ".claude/skills", "cursor": ".cursor/skills", "opencode": ".agents/skills",
              "codex": ".agents/skills", "copilot": ".agents/skills", "kiro": ".kiro/skills"}
"""src/domain/repo/skill_dirs.ts"""
SUPERSEDED_SKILLS = (
    "swamp-extension-model", "swamp-extension-vault", "swamp-extension-driver", "swamp-extension-datastore",
    "swamp-extension-quality", "swamp-data-query", "swamp-model", "swamp-workflow", "swamp-data", "swamp-vault",
    "swamp-extension", "swamp-extension-publish", "swamp-repo", "swamp-report", "swamp-troubleshooting",
    "swamp-issue",
)
"""src/domain/repo/superseded_skills.ts (checked against swamp's source by the tests)."""
BUNDLED_SKILL_NAMES = ("swamp", "swamp-getting-started")


class Repo:
    def __init__(self, path: str, marker: dict[str, Any]) -> None:
        self.path = path
        self.marker = marker

    @property
    def swamp_dir(self) -> str:
        return os.path.join(self.path, ".swamp")

    @property
    def data_dir(self) -> str:
        return os.path.join(self.path, ".swamp", "data")

    @property
    def models_dir(self) -> str:
        return os.path.join(self.path, "models")


def _git_root(start: str) -> str | None:
    directory = start
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def repo_dir(call: Call) -> str:
    """swamp's getRepoDirFromArgs/resolveRepoDir for this call."""
    option = call.parsed.options.get("--repo-dir")
    if isinstance(option, str):
        return os.path.normpath(os.path.join(call.cwd, option))
    if call.env.get("SWAMP_REPO_DIR"):
        return os.path.normpath(os.path.join(call.cwd, call.env["SWAMP_REPO_DIR"]))
    if any(k in call.env for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES")):
        raise Pass("git_env")
    start = os.path.realpath(call.cwd)
    git_root = _git_root(start)
    directory = start
    for _ in range(MAX_ANCESTOR_DEPTH):
        if os.path.isfile(os.path.join(directory, MARKER)):
            return directory
        if git_root is not None and directory == git_root:
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return call.cwd


def read_json_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise Pass("unreadable_state") from None


class Markers:
    """Parsed `.swamp.yaml` files by path, kept while their (mtime, size, inode) stays the same."""

    MAX = 1024

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[tuple[int, int, int], Any]] = {}
        self._lock = threading.Lock()

    def read(self, path: str) -> dict[str, Any]:
        marker_path = os.path.join(path, MARKER)
        try:
            st = os.stat(marker_path)
        except FileNotFoundError:
            raise Pass("not_a_repo") from None
        except OSError:
            raise Pass("marker_unreadable") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            hit = self._parsed.get(marker_path)
        if hit is not None and hit[0] == stamp:
            marker = hit[1]
        else:
            try:
                with open(marker_path, encoding="utf-8") as fh:
                    marker = jsyaml.load(fh.read())
            except FileNotFoundError:
                raise Pass("not_a_repo") from None
            except (OSError, UnicodeDecodeError):
                raise Pass("marker_unreadable") from None
            except jsyaml.YamlError:
                marker = None
            with self._lock:
                if len(self._parsed) >= self.MAX:
                    self._parsed.clear()
                self._parsed[marker_path] = (stamp, marker)
        if not isinstance(marker, dict) or not set(marker) <= MARKER_KEYS:
            raise Pass("marker_keys")
        return marker

    def locate(self, call: Call) -> Repo:
        """The initialized repo of this call, with swamp's surroundings checked; else Pass."""
        path = repo_dir(call)
        return _surroundings(call, path, self.read(path))


def _surroundings(call: Call, path: str, marker: dict[str, Any]) -> Repo:
    if call.env.get("SWAMP_DATASTORE"):
        raise Pass("datastore")
    if call.env.get("SWAMP_SERVE_URL") or "--server" in call.parsed.options:
        raise Pass("remote")
    if call.env.get("SWAMP_EXTENSIONS_DIR"):
        raise Pass("extensions_dir")
    repo = Repo(path, marker)
    lock = read_json_file(os.path.join(repo.models_dir, "upstream_extensions.json"))
    if lock:  # pulled extensions: staleness and missing-file warnings are possible
        raise Pass("pulled_extensions")
    if os.path.lexists(os.path.join(path, ".swamp-sources.yaml")):
        raise Pass("extension_sources")
    if not call.json:
        check_log_mode(call, repo)
    return repo


def tools_of(marker: dict[str, Any]) -> list[str]:
    tools = marker.get("tools")
    if tools is None and "tool" in marker:
        tools = [] if marker["tool"] == "none" else [marker["tool"]]
    if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, str) for t in tools)):
        raise Pass("marker_tools")
    return tools or []


def _within_a_day(stamp: Any) -> bool:
    if not isinstance(stamp, str):
        return False
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False
    return time.time() - when < ONE_DAY


def check_log_mode(call: Call, repo: Repo) -> None:
    """What only the log format prints: deferred warnings, the login nudge, an update banner."""
    if not (call.env.get("SWAMP_HOME") or call.env.get("HOME") or call.env.get("USERPROFILE")):
        raise Pass("no_home")
    level = call.log_level(repo.marker.get("logLevel"))
    if level in ("trace", "debug"):
        raise Pass("debug_log")
    marker = repo.marker
    tools = tools_of(marker)
    for tool in tools or ["claude"]:
        skills = SKILL_DIRS.get(tool)
        if skills and any(os.path.exists(os.path.join(repo.path, skills, n)) for n in SUPERSEDED_SKILLS):
            raise Pass("superseded_skills")
    if tools and marker.get("skillMigrationDismissed") is not True and not _within_a_day(
            marker.get("lastSkillMigrationWarning")):
        for tool in tools:
            skills = SKILL_DIRS.get(tool) if tool != "none" else None
            pulled = os.path.join(repo.swamp_dir, "pulled-extensions", "skills")
            base = os.path.join(repo.path, skills) if skills else pulled
            if any(os.path.exists(os.path.join(base, n, "SKILL.md")) for n in BUNDLED_SKILL_NAMES):
                raise Pass("local_skills")
    config_dir = call.swamp_config_dir()
    if config_dir is None:
        raise Pass("no_config_dir")
    nudge = read_json_file(os.path.join(config_dir, "auth_nudge.json"))
    if not isinstance(nudge, dict) or not _within_a_day(nudge.get("lastShown")):
        raise Pass("auth_nudge")


def update_check_disabled(env: dict[str, str]) -> bool:
    value = env.get("SWAMP_NO_UPDATE_CHECK")
    return value is not None and value not in ("0", "false", "")
