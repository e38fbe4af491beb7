"""`swamp vault ...` through the real console script and a real daemon."""

from __future__ import annotations

import os

import pytest

from .conftest import Repo

pytestmark = pytest.mark.keyring


def test_put_get_ls_rm_with_stdin(daemon, run_swampd, repo: Repo, secret_service: str) -> None:
    r = repo.root
    put = run_swampd("vault", "put", "dev", "CLI_K", "--repo", r, "--label", "env=prod", input="cli-secret\n")
    assert put.returncode == 0, put
    assert "cli-secret" not in put.stdout + put.stderr
    # the trailing newline of piped input is not part of the value; piped output has none
    got = run_swampd("vault", "get", "dev", "CLI_K", "--repo", r, "--reveal")
    assert got.returncode == 0 and got.stdout == "cli-secret"
    meta = run_swampd("--json", "vault", "get", "dev", "CLI_K", "--repo", r)
    assert meta.json()["revealed"] is False and "value" not in meta.json()
    ls = run_swampd("vault", "ls", "dev", "--repo", r)
    assert "CLI_K" in ls.stdout and "cli-secret" not in ls.stdout
    again = run_swampd("vault", "put", "dev", "CLI_K", "--repo", r, input="other")
    assert again.returncode != 0 and "conflict" in again.stderr
    forced = run_swampd("--json", "vault", "put", "dev", "CLI_K", "--repo", r, "-f", input="other")
    assert forced.json()["overwritten"] is True
    rm = run_swampd("vault", "rm", "dev", "CLI_K", "--repo", r)
    assert rm.returncode == 0 and "deleted" in rm.stdout


def test_value_on_the_command_line_needs_the_flag(daemon, run_swampd, repo: Repo) -> None:
    refused = run_swampd("vault", "put", "dev", "ARG_K", "argv-secret", "--repo", repo.root, input="")
    assert refused.returncode == 2 and "--value-from-arg" in refused.stderr
    assert "argv-secret" not in refused.stderr
    ok = run_swampd("vault", "put", "dev", "ARG_K", "argv-secret", "--value-from-arg", "--repo", repo.root)
    assert ok.returncode == 0, ok
    got = run_swampd("--json", "vault", "get", "dev", "ARG_K", "--repo", repo.root, "--reveal")
    assert got.json()["value"] == "argv-secret"


def test_swamps_inline_key_value_form(daemon, run_swampd, repo: Repo) -> None:
    """issue 10 #6: `vault put VAULT KEY=VALUE` stores KEY with VALUE (was: a key named `KEY=VALUE`, empty value)."""
    put = run_swampd("vault", "put", "dev", "API_KEY=sk-1234=567", "--repo", repo.root, input="")
    assert put.returncode == 0, put
    assert "sk-1234" not in put.stdout + put.stderr
    got = run_swampd("--json", "vault", "get", "dev", "API_KEY", "--repo", repo.root, "--reveal")
    assert got.json()["value"] == "sk-1234=567"  # split at the first '=' only, as swamp does
    listed = run_swampd("--json", "vault", "ls", "dev", "--repo", repo.root).json()
    assert [k["key"] for k in listed["vaults"][0]["keys"]] == ["API_KEY"]
    assert not any("sk-1234" in name for _, dirs, files in os.walk(repo.secrets_dir("dev")) for name in dirs + files)
    both = run_swampd("vault", "put", "dev", "B=inline", "positional", "--value-from-arg", "--repo", repo.root)
    assert both.returncode == 2 and "not both" in both.stderr
    no_key = run_swampd("vault", "put", "dev", "=orphan-value", "--repo", repo.root)
    assert no_key.returncode == 2 and "orphan-value" not in no_key.stderr


def test_empty_values_need_allow_empty(daemon, run_swampd, repo: Repo) -> None:
    for refused in (run_swampd("vault", "put", "dev", "E=", "--repo", repo.root),
                    run_swampd("vault", "put", "dev", "E", "--repo", repo.root, input="\n")):
        assert refused.returncode != 0 and "invalid_params" in refused.stderr, refused
    assert run_swampd("--json", "vault", "ls", "dev", "--repo", repo.root).json()["vaults"][0]["keys"] == []
    ok = run_swampd("vault", "put", "dev", "E=", "--allow-empty", "--repo", repo.root)
    assert ok.returncode == 0, ok
    assert run_swampd("--json", "vault", "get", "dev", "E", "--repo", repo.root, "--reveal").json()["value"] == ""


def test_repo_from_cwd_rotate_audit_lock(daemon, run_swampd, repo: Repo) -> None:
    assert run_swampd("vault", "put", "dev", "R", input="before", cwd=repo.root).returncode == 0
    rot = run_swampd("--json", "vault", "rotate", "dev", "R", "--length", "40", "--alphabet", "hex", cwd=repo.root)
    assert rot.returncode == 0 and rot.json()["source"] == "policy"
    value = run_swampd("vault", "get", "dev", "R", "--reveal", cwd=repo.root).stdout
    assert len(value) == 40 and set(value) <= set("0123456789abcdef")
    failed = run_swampd("vault", "rotate", "dev", "R", "--command", "exit 4", cwd=repo.root)
    assert failed.returncode == 1 and "old value is kept" in failed.stderr
    assert run_swampd("vault", "get", "dev", "R", "--reveal", cwd=repo.root).stdout == value
    audit = run_swampd("--json", "vault", "audit", "--repo", repo.root, "--key", "R")
    assert audit.returncode == 0, audit
    assert [e["action"] for e in audit.json()["entries"]] == ["put", "put", "get", "get"]
    assert run_swampd("vault", "lock").returncode == 0
    locked = run_swampd("vault", "get", "dev", "R", "--reveal", cwd=repo.root)
    assert locked.returncode == 1 and "vault_locked" in locked.stderr
    assert run_swampd("vault", "unlock").returncode == 0
    assert run_swampd("vault", "get", "dev", "R", "--reveal", cwd=repo.root).stdout == value


def test_hidden_prompt_on_a_terminal(daemon, repo: Repo, daemon_env) -> None:
    """With a terminal and no piped stdin, the value is asked for without echo (getpass)."""
    import os
    import pty
    import subprocess
    import time

    from tests.conftest import swampd_command

    master, slave = pty.openpty()
    slave_name = os.ttyname(slave)

    def take_terminal() -> None:  # runs after setsid: the pty becomes the controlling terminal
        os.close(os.open(slave_name, os.O_RDWR))

    proc = subprocess.Popen(
        [*swampd_command(), "vault", "put", "dev", "TTY_K", "--repo", repo.root],
        stdin=slave, stdout=slave, stderr=slave, env=daemon_env, start_new_session=True,
        preexec_fn=take_terminal,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while b"value for dev/TTY_K" not in seen and time.monotonic() < deadline:
        seen += os.read(master, 1024)
    os.write(master, b"typed-secret-value\n")
    try:
        while True:
            chunk = os.read(master, 1024)
            if not chunk:
                break
            seen += chunk
    except OSError:  # EIO once the child closed the terminal
        pass
    assert proc.wait(timeout=60) == 0, seen
    os.close(master)
    assert b"stored dev/TTY_K" in seen
    assert b"typed-secret-value" not in seen  # not echoed
    got = daemon.call("vault.get", {"vault": "dev", "key": "TTY_K", "repo": repo.root, "reveal": True})
    assert got["value"] == "typed-secret-value"
