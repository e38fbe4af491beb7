"""`swamp model method run` through the front (run once by the daemon, streamed back) against the
real swamp run directly: the same output, but for what a new run has of its own (ids, times,
durations), in both output formats, failures included."""

from __future__ import annotations

import pytest

from .conftest import NEW_RUN, Differential, case, set_run

pytestmark = pytest.mark.timeout(900)

RUNS = [
    case("model method run m1 execute --json", mask=NEW_RUN),
    case("model method run m1 execute", mask=NEW_RUN, squeeze=True),
    case("model method run m1 execute --no-color", mask=NEW_RUN, squeeze=True),
    case("model method run failing execute --json", mask=NEW_RUN),
    case("model method run failing execute", mask=NEW_RUN, squeeze=True),
    case("model method run m1 nosuchmethod --json", mask=NEW_RUN),
    case("model method run nosuchmodel execute", mask=NEW_RUN),
    case("model method run m1 execute --stdin --json", accelerated=False, mask=NEW_RUN),
]


def test_method_runs_print_what_swamp_prints(differential: Differential) -> None:
    def prepare() -> None:
        set_run(differential.world, "failing", "echo about-to-fail; exit 3")

    differential.compare(RUNS, prepare=prepare, parallel=1)
