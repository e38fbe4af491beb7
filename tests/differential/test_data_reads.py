"""`swamp data get|list|versions` through the front against the real swamp, byte for byte."""

from __future__ import annotations

import pytest

from .conftest import TIMESTAMP, Differential, case

pytestmark = pytest.mark.timeout(900)  # tens of real swamp calls of ~1.3 s each, on a shared machine

NO_COLOR = {"NO_COLOR": "1"}

DATA_CORPUS = [
    # data get: json content, versions (one deleted), metadata only, flags instead of positionals
    case("data get m1 result --json"),
    case("data get m1 result"),
    case("data get m1 result --version 1 --json"),
    case("data get m1 result --version 2 --json"),  # a deleted version: not found
    case("data get m1 result --version 2"),
    case("data get m1 result --no-content --json"),
    case("data get --model m1 --name result --no-content"),
    case("--json data get m1 result -q"),
    # renamed (a tombstone followed to the new name), text, all versions deleted, missing
    case("data get m1 log --json"),
    case("data get m1 log --version 4 --json"),
    case("data get m1 runlog"),
    case("data get m1 report-swamp-method-summary --json"),
    case("data get m1 nope"),
    case("data get m1 nope --no-color"),
    case("data get m1 nope", env=NO_COLOR),
    # bytes through swampd: binary, not UTF-8, JSON needing JavaScript's numbers and key order, bad JSON
    case("data get m1 blob --json"),
    case("data get m1 blob"),
    case("data get m1 latin1"),
    case("data get m1 doc --json"),
    case("data get m1 doc"),
    case("data get m1 broken --json"),
    case("data get m1 broken"),
    case("data get m1 empty --json"),
    case("data get m1 empty"),
    # large
    case("data get big result --json"),
    case("data get big log"),
    # where the repo is found
    case("data get m1 result --json", cwd="sub/deeper"),
    case("data list m1 --json", env={"SWAMP_REPO_DIR": "."}),
    # data list and versions
    case("data list m1 --json"),
    case("data list m1"),
    case("data list m1 --type resource --json"),
    case("data list m1 --type nothing"),
    case("data list big"),
    case("data versions m1 result --json"),
    case("data versions m1 log"),
    case("data versions m1 runlog --json"),
    case("data versions m1 nope --json"),
    case("data versions m1 nope"),
    # passed through: options the front does not take, unknown models, ids, help
    case("data get m1 result --workflow w --json", accelerated=False),
    case("data get nomodel result --json", accelerated=False),
    case("data list m1 --log-level debug", accelerated=False, mask=(TIMESTAMP,)),  # a new log line's time
    case("data versions m1 result --help", accelerated=False),
    case("data get m1 result --version two --json", accelerated=False),
]

PASS_THROUGH_SAMPLE = [
    case("--version", accelerated=False),
    case("model search --json", accelerated=False),
    case("workflow search --json", accelerated=False),
    case("data search --json", accelerated=False),
    case("nonsense-command", accelerated=False),
]


def test_data_reads_are_swamps_bytes(differential: Differential) -> None:
    differential.compare(DATA_CORPUS)


def test_a_sample_of_passed_through_commands(differential: Differential) -> None:
    differential.compare(PASS_THROUGH_SAMPLE)


def test_stopping_the_daemon_mid_suite_changes_no_output(differential: Differential) -> None:
    """With autostart off, a stopped daemon means every command goes to the real swamp: same bytes."""
    corpus = DATA_CORPUS[:6] + DATA_CORPUS[28:34]
    differential.front_extra_env = {"SWAMPD_AUTOSTART": "0"}
    half = len(corpus) // 2

    def between(i: int) -> None:
        if i == half:
            differential.daemon.stop()

    differential.compare(corpus, between=between)
    assert differential.daemon.proc is not None and differential.daemon.proc.poll() is not None


MODEL_GET = [
    case("model get m1 --json"),
    case("model get m1"),
    case("model get m1 --no-color"),
    case("model get big --json", cwd="sub"),
    case("model get nomodel --json", accelerated=False),
    case("model get m1 --json", env={"SWAMP_REPO_DIR": "/nonexistent"}, accelerated=False),
]


def test_model_get_prints_swamps_bytes(differential: Differential) -> None:
    """The type's part of `model get` is learned from the real swamp once (the first call passes)."""
    def learn_types(i: int) -> None:
        if i == 0:
            differential.learn_types(["m1"])

    differential.compare(MODEL_GET, between=learn_types)


VAULT = [
    case("vault list-keys v1 --json"),
    case("vault read-secret v1 API_KEY --json"),
    case("vault read-secret v1 API_KEY --force"),
    case("vault read-secret v1 OTHER -y"),
    case("vault list-keys v1", accelerated=False, mask=(TIMESTAMP,)),  # logger lines: their own times
    case("vault list-keys nope --json", accelerated=False),
    case("vault read-secret v1 MISSING --json", accelerated=False),
    case("vault read-secret nope API_KEY --json", accelerated=False),
]


def test_vault_reads_print_swamps_bytes_and_leave_its_audit_trail_alone(differential: Differential) -> None:
    differential.compare(VAULT)
    audit = sorted((differential.world.repo / ".swamp" / "audit").glob("*.jsonl"))
    lines = [line for path in audit for line in path.read_text().splitlines()]
    assert [line for line in lines if '"action":"get"' in line] == []  # reads of v1 are not audited


QUERY = [
    case("data query 'modelName == \"m1\"' --json"),
    case("data query 'dataType == \"resource\" && !(name == \"result\")' --json"),
    case("data query 'isLatest == false' --json --limit 3"),
    case("data query 'name == \"doc\" || name == \"broken\" || name == \"blob\"' --json"),
    case("data query 'modelName == \"nobody\"' --json"),
    case("data query 'size > 100' --json", accelerated=False),
    case("data query 'modelName == \"m1\"' --select name --json", accelerated=False),
    case("data query 'modelName == \"m1\"'", accelerated=False),
    case("data query 'nosuchfield == \"x\"' --json", accelerated=False),
]


def test_data_query_prints_swamps_bytes(differential: Differential) -> None:
    differential.compare(QUERY)


def test_what_the_front_cannot_copy_goes_to_swamp(differential: Differential) -> None:
    """Surroundings where swamp prints more than the command (or reads differently): passed through."""
    repo = differential.world.repo

    def prepare() -> None:
        (repo / ".claude" / "skills" / "swamp-model").mkdir(parents=True)  # a superseded skill: a warning
        broken = repo / "models" / "command" / "shell" / "aaa-broken.yaml"
        broken.write_text("name: [unclosed\n")
        (repo / "models" / "command" / "shell" / "zz-tagged.yaml").write_text("name: !!str zz\n")

    differential.compare([
        case("data get m1 result", accelerated=False, mask=(TIMESTAMP,)),  # the skill warning, a log line
        case("data get m1 result --json", accelerated=False),  # a definition file the front cannot judge
        case("data list m1 --json", env={"LANG": "da_DK.UTF-8"}, accelerated=False),
        case("data versions m1 result --json", env={"SWAMP_DATASTORE": "filesystem:/nonexistent"},
             accelerated=False),
    ], prepare=prepare, check_rooms=False)  # whether a broken file is read before m1's depends on dir order
