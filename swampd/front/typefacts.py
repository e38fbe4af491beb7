"""What a model type looks like to swamp (version, global-arguments schema, methods), learned from the
real swamp itself: `swamp model type describe TYPE --json`, run once per type and real binary.

Only swamp's built-in types (names without `@`, whose definition is in the binary) are learned;
the first command that needs an unknown type passes to swamp while the daemon asks it in the
background. A type swamp cannot describe is remembered as unknown (its commands keep passing).
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from typing import Any

from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.swamp_binary import SwampBinaryError, configured_name, find_real_swamp

log = logging.getLogger(__name__)

LEARN_TIMEOUT = 120.0
UNKNOWN = "unknown"


class TypeFacts:
    def __init__(self, config_file: str) -> None:
        self._config_file = config_file
        self._facts: dict[tuple[str, int, int, str], dict[str, Any] | str] = {}
        self._learning: set[tuple[str, int, int, str]] = set()
        self._lock = threading.Lock()

    def _binary(self, call: Call) -> tuple[str, int, int]:
        try:
            path = find_real_swamp(configured_name(call.env, self._config_file), call.env.get("PATH", ""))
            st = os.stat(path)
        except (SwampBinaryError, OSError):
            raise Pass("no_swamp") from None
        return path, st.st_size, st.st_mtime_ns

    def get(self, call: Call, model_type: str) -> dict[str, Any]:
        """The type's facts; Pass (and learning started) when they are not known yet."""
        if model_type.startswith("@"):
            raise Pass("extension_type")
        key = (*self._binary(call), model_type)
        with self._lock:
            facts = self._facts.get(key)
            if isinstance(facts, dict):
                return facts
            if facts == UNKNOWN:
                raise Pass("type_unknown")
            if key not in self._learning:
                self._learning.add(key)
                threading.Thread(target=self._learn, args=(key, call.cwd, dict(call.env)), daemon=True,
                                 name=f"swampd-front-type-{model_type}").start()
        raise Pass("type_learning")

    def _learn(self, key: tuple[str, int, int, str], cwd: str, env: dict[str, str]) -> None:
        path, _, _, model_type = key
        facts: dict[str, Any] | str = UNKNOWN
        try:
            done = subprocess.run([path, "model", "type", "describe", model_type, "--json"], cwd=cwd, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=LEARN_TIMEOUT)
            if done.returncode == 0:
                parsed = jsjson.parse(jsjson.text_decode(done.stdout))
                if isinstance(parsed, dict) and isinstance(parsed.get("version"), str) and isinstance(
                        parsed.get("methods"), list):
                    facts = {"version": parsed["version"], "globalArguments": parsed.get("globalArguments"),
                             "methods": parsed["methods"]}
        except (OSError, subprocess.SubprocessError, jsjson.NotJson):
            log.warning("front: could not learn model type %s from %s", model_type, path)
        with self._lock:
            self._facts[key] = facts
            self._learning.discard(key)

    def wait_learned(self, timeout: float) -> None:
        """Tests and benchmarks: wait for background learning to finish."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._learning:
                    return
            time.sleep(0.05)
