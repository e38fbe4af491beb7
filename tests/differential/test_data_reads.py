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
