"""Host config parsing and the error-code table."""

from __future__ import annotations

import pytest

from swampd import errors, protocol
from swampd.client import RpcError
from swampd.config import load_config
from swampd.paths import resolve_paths


def config_in(tmp_path, text: str, **env: str):
    (tmp_path / "config.toml").write_text(text)
    environ = {"SWAMPD_HOME": str(tmp_path), "HOME": str(tmp_path), **env}
    return load_config(resolve_paths(environ), env=environ)


def test_defaults_without_a_file(tmp_path):
    environ = {"SWAMPD_HOME": str(tmp_path), "HOME": str(tmp_path)}
    config = load_config(resolve_paths(environ), env=environ)
    assert config.daemon.autostart is True
    assert config.daemon.idle_timeout == 1800
    assert config.paths.socket == str(tmp_path / "run" / "swampd.sock")


def test_file_and_environment(tmp_path):
    config = config_in(tmp_path, '[daemon]\nidle_timeout = 5\nautostart = false\n[cache]\nmax_bytes = 10\n',
                       SWAMPD_DRAIN_GRACE="2.5")
    assert config.daemon.idle_timeout == 5
    assert config.daemon.autostart is False
    assert config.daemon.drain_grace == 2.5
    assert config.section("cache") == {"max_bytes": 10}
    assert config.section("absent") == {}
    env_wins = config_in(tmp_path, "[daemon]\nautostart = false\n", SWAMPD_AUTOSTART="1")
    assert env_wins.daemon.autostart is True


def test_bad_toml_names_the_file(tmp_path):
    with pytest.raises(errors.InvalidInput) as info:
        config_in(tmp_path, "[daemon\n")
    assert str(tmp_path / "config.toml") in info.value.message


def test_unknown_daemon_key_is_refused(tmp_path):
    with pytest.raises(errors.InvalidInput) as info:
        config_in(tmp_path, "[daemon]\nidle_timout = 5\n")
    assert "idle_timout" in info.value.message


def test_xdg_layout_without_swampd_home(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1000"}
    paths = resolve_paths(env)
    assert paths.socket == "/run/user/1000/swampd/swampd.sock"
    assert paths.config_file == str(tmp_path / ".config" / "swampd" / "config.toml")
    assert resolve_paths({"HOME": str(tmp_path)}).runtime_dir == str(tmp_path / ".swamp" / "run")


@pytest.mark.parametrize("kind, cls", sorted(errors.ERROR_CLASSES.items()))
def test_every_error_class_has_a_code_in_range_and_round_trips(kind, cls):
    exc = cls("something went wrong", detail=1)
    wire = exc.to_error()
    assert wire["data"]["kind"] == kind
    if kind in protocol.STANDARD_KINDS.values():
        assert wire["code"] in protocol.STANDARD_KINDS
    else:
        assert -32099 <= wire["code"] <= -32000
        assert protocol.kind_for_code(wire["code"]) == kind
    back = errors.from_error(wire)
    assert type(back) is cls and back.data == {"detail": 1}
    assert RpcError(wire["code"], wire["message"], wire["data"]).kind == kind


def test_daemon_codes_are_unique_and_standard_codes_are_the_specs():
    assert len(set(protocol.DAEMON_ERRORS.values())) == len(protocol.DAEMON_ERRORS)
    assert (protocol.PARSE_ERROR, protocol.INVALID_REQUEST, protocol.METHOD_NOT_FOUND, protocol.INVALID_PARAMS,
            protocol.INTERNAL_ERROR) == (-32700, -32600, -32601, -32602, -32603)


def test_wrong_types_are_refused_with_the_table_named(tmp_path):
    with pytest.raises(errors.InvalidInput) as info:
        config_in(tmp_path, '[daemon]\nidle_timeout = "soon"\n')
    assert "[daemon] idle_timeout must be a number" in info.value.message
    assert str(tmp_path / "config.toml") in info.value.message
    with pytest.raises(errors.InvalidInput):
        config_in(tmp_path, "[daemon]\ndrain_grace = -1\n")
    assert config_in(tmp_path, "[daemon]\ndrain_grace = 3\n").daemon.drain_grace == 3.0  # int for a float


def test_every_subsystem_table_refuses_unknown_keys_and_wrong_types():
    from swampd.extensions.settings import ExtensionSettings
    from swampd.jobs.settings import JobSettings
    from swampd.storage.hottier import CacheSettings
    from swampd.vault.settings import VaultSettings

    for cls, section, good_key in ((CacheSettings, "cache", "staleness"), (JobSettings, "jobs", "kill_grace"),
                                   (VaultSettings, "vault", "refresh_timeout"),
                                   (ExtensionSettings, "extensions", "lock_timeout")):
        parse = (lambda t, cls=cls: cls.from_mapping(t, env={})) if cls is JobSettings else cls.from_mapping
        with pytest.raises(errors.InvalidInput, match=rf"unknown \[{section}\] keys: nope"):
            parse({"nope": 1})
        with pytest.raises(errors.InvalidInput, match=rf"\[{section}\] {good_key} must be a number"):
            parse({good_key: "slow"})
        assert getattr(parse({good_key: 2}), good_key) == 2.0
