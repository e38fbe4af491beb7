"""`swamp daemon install-front` / `uninstall-front`: put the front in front of the real swamp, or take it away.

install-front writes one small launcher named `swamp` into a directory that comes before the
real swamp's on PATH (cli/front_launcher.py). A passed-through command costs a shell start, not an
interpreter start; the others start this interpreter with `-I -S` (no site processing: the front's
hot path needs only this project), with the site-packages directories at the end of `sys.path`
for the commands that need third-party packages. The real swamp stays where it is and is still
found on PATH (the front skips itself: its launcher carries a marker line).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from typing import Any


class InstallError(Exception):
    pass


def project_root() -> str:
    import cli

    return os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__)))


def launcher_text() -> str:
    from cli.front_launcher import render

    site = []
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths()[key]
        if path not in site:
            site.append(path)
    return render(sys.executable, [project_root()], site)


def _path_dirs(path_env: str | None) -> list[str]:
    search = os.environ.get("PATH", "") if path_env is None else path_env
    return [os.path.abspath(d) for d in search.split(os.pathsep) if d]


def choose_bin_dir(real_swamp: str | None, path_env: str | None = None) -> str | None:
    """The first writable PATH directory before the real swamp's own (None when there is none)."""
    real_dir = os.path.dirname(real_swamp) if real_swamp else None
    for directory in _path_dirs(path_env):
        if directory == real_dir:
            return None
        if os.path.isdir(directory) and os.access(directory, os.W_OK):
            return directory
    return None


def install(bin_dir: str | None, *, dry_run: bool, path_env: str | None = None) -> dict[str, Any]:
    from swampd.swamp_binary import SwampBinaryError, find_real_swamp, is_own_front

    try:
        real = find_real_swamp("swamp", path_env)
    except SwampBinaryError:
        real = None
    if bin_dir is None:
        if real is None:
            raise InstallError("no real swamp on PATH to put the front in front of: install swamp first "
                               "(https://github.com/swamp-club/swamp#installation), or give --bin-dir")
        bin_dir = choose_bin_dir(real, path_env)
        if bin_dir is None:
            raise InstallError("no writable directory on PATH comes before the real swamp's "
                               f"({os.path.dirname(real) if real else 'not found'}); give one with --bin-dir "
                               "and put it early on PATH")
    bin_dir = os.path.abspath(os.path.expanduser(bin_dir))
    target = os.path.join(bin_dir, "swamp")
    if os.path.lexists(target) and not is_own_front(target):
        raise InstallError(f"{target} exists and is not swampd's front (the real swamp?); "
                           "choose another --bin-dir, earlier on PATH")
    text = launcher_text()
    dirs = _path_dirs(path_env)
    real_dir = os.path.dirname(real) if real else None
    shadowed = bin_dir in dirs and (real_dir not in dirs or dirs.index(bin_dir) < dirs.index(real_dir))
    result: dict[str, Any] = {"path": target, "real_swamp": real, "written": False,
                              "on_path_first": shadowed, "launcher": text}
    if dry_run:
        return result
    os.makedirs(bin_dir, exist_ok=True)
    tmp = f"{target}.swampd-tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755), "w") as fh:
        fh.write(text)
    os.replace(tmp, target)
    result["written"] = True
    return result


def uninstall(bin_dir: str | None, *, path_env: str | None = None) -> dict[str, Any]:
    from swampd.swamp_binary import is_own_front

    candidates = [os.path.join(os.path.abspath(os.path.expanduser(bin_dir)), "swamp")] if bin_dir else [
        os.path.join(d, "swamp") for d in _path_dirs(path_env)]
    for target in candidates:
        if os.path.lexists(target) and is_own_front(target) and not _is_console_script(target):
            os.unlink(target)
            return {"removed": target}
    return {"removed": None}


def _is_console_script(path: str) -> bool:
    """pip's own `swamp` console script in a virtualenv is not ours to remove."""
    try:
        with open(path, "rb") as fh:
            return b"# swampd-front" not in fh.read(4096)
    except OSError:
        return True
