"""Which swamp repo a path belongs to."""

from __future__ import annotations

from swampd.repo_root import find_repo_root


def test_nearest_marker_wins(tmp_path):
    outer = tmp_path / "outer"
    inner = outer / "sub" / "inner"
    (inner / "deep").mkdir(parents=True)
    (outer / ".swamp.yaml").write_text("repoId: a\n")
    assert find_repo_root(str(inner / "deep")) == str(outer.resolve())
    (inner / ".swamp.yaml").write_text("repoId: b\n")
    assert find_repo_root(str(inner / "deep")) == str(inner.resolve())


def test_no_marker_and_the_data_dir_option(tmp_path):
    (tmp_path / "r" / ".swamp").mkdir(parents=True)
    assert find_repo_root(str(tmp_path / "r")) is None
    assert find_repo_root(str(tmp_path / "r"), accept_data_dir=True) == str((tmp_path / "r").resolve())
