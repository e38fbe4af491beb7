"""Every bad setting (config file, environment) is one line naming where it came from; nothing hangs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from swampd import errors
from swampd.client import autostart_enabled
from swampd.config import load_config
from swampd.envvars import ConfigError
from swampd.paths import resolve_paths
from tests.conftest import base_env, swamp_command


def config_in(tmp_path, text: str, **env: str):
    (tmp_path / "config.toml").write_text(text)
    environ = {"SWAMPD_HOME": str(tmp_path), "HOME": str(tmp_path), **env}
    return load_config(resolve_paths(environ), env=environ)


@pytest.mark.parametrize("text, words", [
    ("[nonsense]\nx = 1\n", ["unknown table", "nonsense"]),
    ("stray = 1\n", ["unknown table", "stray"]),
    ("daemon = 5\n", ["daemon must be a table"]),
    ("[daemon]\nidle_timeout = nan\n", ["[daemon] idle_timeout must be a finite number"]),
    ("[daemon]\ndrain_grace = inf\n", ["[daemon] drain_grace must be a finite number"]),
    ('[daemon]\nlog_level = "loud"\n', ["log_level must be one of debug, info", "'loud'"]),
    ("[daemon]\nmax_batch = 0\n", ["max_batch must be >= 1"]),
])
def test_bad_config_values_are_refused_naming_file_and_key(tmp_path, text, words):
    with pytest.raises(errors.InvalidInput) as info:
        config_in(tmp_path, text)
    assert str(tmp_path / "config.toml") in info.value.message
    for word in words:
        assert word in info.value.message


@pytest.mark.parametrize("table", ["[jobs]\nkill_grace = inf\n", "[cache]\nstaleness = nan\n",
                                   "[vault]\nrefresh_timeout = -inf\n"])
def test_non_finite_numbers_in_subsystem_tables_are_refused_at_load(tmp_path, table):
    config = config_in(tmp_path, table)
    with pytest.raises(errors.InvalidInput, match="must be a finite number") as info:
        config.check_tables()
    assert str(tmp_path / "config.toml") in info.value.message


@pytest.mark.parametrize("name, value, words", [
    ("SWAMPD_AUTOSTART", "maybe", ["SWAMPD_AUTOSTART='maybe' is not a yes/no value", "1, true, yes, on"]),
    ("SWAMPD_IDLE_TIMEOUT", "nan", ["SWAMPD_IDLE_TIMEOUT='nan' is not a number of seconds"]),
    ("SWAMPD_DRAIN_GRACE", "-3", ["SWAMPD_DRAIN_GRACE='-3'", ">= 0"]),
    ("SWAMPD_DRAIN_GRACE", "soon", ["SWAMPD_DRAIN_GRACE='soon'"]),
])
def test_bad_environment_values_name_the_variable(tmp_path, name, value, words):
    with pytest.raises(errors.InvalidInput) as info:
        config_in(tmp_path, "", **{name: value})
    for word in words:
        assert word in info.value.message


def test_autostart_words_and_an_empty_value(tmp_path):
    assert config_in(tmp_path, "[daemon]\nautostart = false\n", SWAMPD_AUTOSTART="").daemon.autostart is False
    assert config_in(tmp_path, "", SWAMPD_AUTOSTART="Off").daemon.autostart is False
    assert config_in(tmp_path, "", SWAMPD_AUTOSTART=" yes ").daemon.autostart is True
    paths = resolve_paths({"SWAMPD_HOME": str(tmp_path)})
    assert autostart_enabled(paths, {"SWAMPD_AUTOSTART": ""}) is True  # empty: as if unset
    with pytest.raises(ConfigError, match="not a yes/no value"):
        autostart_enabled(paths, {"SWAMPD_AUTOSTART": "maybe"})
    (tmp_path / "config.toml").write_text('[daemon]\nautostart = "no"\n')
    with pytest.raises(ConfigError, match="autostart must be true or false"):
        autostart_enabled(paths, {})


def test_relative_dirs(tmp_path):
    with pytest.raises(ConfigError, match="SWAMPD_HOME='rel/home' is a relative path"):
        resolve_paths({"SWAMPD_HOME": "rel/home", "HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="SWAMPD_CONFIG='x.toml' is a relative path"):
        resolve_paths({"SWAMPD_CONFIG": "x.toml", "HOME": str(tmp_path)})
    paths = resolve_paths({"XDG_STATE_HOME": "relative", "HOME": str(tmp_path)})  # the XDG spec: ignored
    assert paths.state_dir == str(tmp_path / ".local" / "state" / "swampd")


def test_a_socket_path_too_long_for_a_unix_socket_names_the_variable(tmp_path):
    deep = "/tmp/" + "d" * 110
    with pytest.raises(ConfigError) as info:
        resolve_paths({"SWAMPD_HOME": deep})
    assert "longer than the 107 a Unix socket allows" in str(info.value) and "SWAMPD_HOME" in str(info.value)


@pytest.mark.parametrize("kind", ["device", "fifo", "directory"])
def test_a_config_file_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    if kind == "device":
        target = "/dev/zero"
    elif kind == "fifo":
        target = str(tmp_path / "fifo.toml")
        os.mkfifo(target)
    else:
        target = str(tmp_path)
    environ = {"SWAMPD_HOME": str(tmp_path), "SWAMPD_CONFIG": target}
    with pytest.raises(errors.InvalidInput, match="is not a regular file"):
        load_config(resolve_paths(environ), env=environ)
    with pytest.raises(ConfigError, match="is not a regular file"):
        autostart_enabled(resolve_paths(environ), {})


def run_swamp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*swamp_command(), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("setting", ["SWAMPD_CONFIG=/dev/zero", "SWAMPD_AUTOSTART=maybe", "SWAMPD_HOME=relative",
                                     "config:[nonsense]", "config:[jobs]\nkill_grace = inf"])
def test_the_cli_answers_a_bad_setting_with_one_line(swampd_home, setting):
    env = base_env(swampd_home)
    if setting.startswith("config:"):
        (swampd_home / "config.toml").write_text(setting[len("config:"):] + "\n")
        args = ["--no-daemon", "jobs", "ls"]
    else:
        name, value = setting.split("=", 1)
        env[name] = value
        args = ["rpc", "daemon.hello"]
    result = run_swamp(env, *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("swamp: ") and result.stderr.count("\n") == 1, result.stderr


def test_the_daemon_refuses_to_start_with_a_bad_table_value(swampd_home):
    (swampd_home / "config.toml").write_text("[cache]\nstaleness = -1\n")
    result = subprocess.run([sys.executable, "-m", "swampd"], env=base_env(swampd_home), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "[cache]" in result.stderr and str(swampd_home / "config.toml") in result.stderr
    assert "Traceback" not in result.stderr


def test_every_table_a_subsystem_reads_is_known(tmp_path):
    """A subsystem that reads `config.section(NAME)` must list NAME in config.TABLES (else refused)."""
    import re
    from pathlib import Path

    from swampd.config import TABLES

    root = Path(__file__).resolve().parent.parent
    read = set()
    for source in [*root.glob("swampd/**/*.py"), *root.glob("cli/**/*.py"), *root.glob("tui/**/*.py")]:
        read |= set(re.findall(r'section\("([a-z_]+)"\)', source.read_text()))
    assert read and read <= set(TABLES), read - set(TABLES)
    for name in TABLES:  # and every known table is accepted
        config_in(tmp_path, f"[{name}]\n").check_tables()


def test_front_switches_take_only_yes_no_words(swampd_home):
    env = {**base_env(swampd_home), "SWAMPD_FRONT": "maybe"}
    result = run_swamp(env, "data", "get", "x")
    assert result.returncode == 2 and "SWAMPD_FRONT='maybe' is not a yes/no value" in result.stderr
