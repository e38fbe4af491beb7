"""New values for rotation: random by policy, or the output of a refresh command.

A refresh command runs like swamp's refresh hooks: `sh -c CMD`, stdout right-trimmed is
the new value; a non-zero exit, empty output or the timeout is a failure. The command's
output and error text never appear in an error (they may hold the secret). It runs in its
own process group, killed as a whole on timeout. Blocking: call through a worker thread.
"""

from __future__ import annotations

import os
import secrets
import signal
import string
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from swampd.errors import CallFailed, InvalidParams, Timeout

ALPHABETS: dict[str, str] = {
    "alnum": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "urlsafe": string.ascii_letters + string.digits + "-_",
    "printable": string.ascii_letters + string.digits + string.punctuation,
    "digits": string.digits,
}
MAX_LENGTH = 4096
MAX_OUTPUT = 1024 * 1024


@dataclass(frozen=True)
class RotationPolicy:
    length: int = 32
    alphabet: str = "alnum"
    """A name from ALPHABETS, or the literal characters to draw from (at least 2 distinct)."""

    def characters(self) -> str:
        chars = ALPHABETS.get(self.alphabet, self.alphabet)
        if len(set(chars)) < 2:
            raise InvalidParams("alphabet must name a known alphabet or list at least 2 characters")
        return "".join(dict.fromkeys(chars))

    def validate(self) -> RotationPolicy:
        if (
            not isinstance(self.length, int)
            or isinstance(self.length, bool)
            or not 1 <= self.length <= MAX_LENGTH
        ):
            raise InvalidParams(f"length must be an integer from 1 to {MAX_LENGTH}")
        if not isinstance(self.alphabet, str):
            raise InvalidParams("alphabet must be a string")
        self.characters()
        return self

    def generate(self) -> str:
        chars = self.characters()
        return "".join(secrets.choice(chars) for _ in range(self.length))


def run_refresh_command(
    command: str,
    *,
    timeout: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `sh -c command` and return its stdout, right-trimmed; raise without its output."""
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError:
        raise CallFailed("the refresh command could not be started") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise Timeout(
            f"the refresh command did not finish within {timeout:g}s; the old value is kept"
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        _kill_group(proc)  # leftovers of the group (background children) go too
    if proc.returncode != 0:
        raise CallFailed(
            f"the refresh command exited with status {proc.returncode}; the old value is kept",
            exit_code=proc.returncode,
        )
    if len(out) > MAX_OUTPUT:
        raise CallFailed("the refresh command printed more than 1 MiB; the old value is kept")
    try:
        value = out.decode("utf-8").rstrip()
    except UnicodeDecodeError:
        raise CallFailed("the refresh command printed non-UTF-8 output; the old value is kept") from None
    if not value:
        raise CallFailed("the refresh command printed nothing; the old value is kept")
    return value


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
