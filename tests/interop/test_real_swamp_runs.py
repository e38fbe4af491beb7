"""The real swamp CLI runs here, in a private home, as the interop and differential suites use it."""

from __future__ import annotations

from pathlib import Path


def test_real_swamp_makes_a_repo_and_runs_a_shell_model(real_swamp, tmp_path: Path) -> None:
    repo = real_swamp.init_repo(tmp_path / "repo")
    assert (repo / ".swamp.yaml").exists()
    created = real_swamp.json("model", "create", "command/shell", "hello", cwd=repo)
    assert created["name"] == "hello"
    definition = repo / "models" / "command" / "shell" / "hello.yaml"
    text = definition.read_text().replace(
        "methods: {}", "methods:\n  execute:\n    arguments:\n      run: echo hi-from-swamp\n"
    )
    definition.write_text(text)
    run = real_swamp.json("model", "method", "run", "hello", "execute", cwd=repo)
    assert run["status"] == "succeeded", run
    result = next(a for a in run["dataArtifacts"] if a["name"] == "result")
    assert result["attributes"]["stdout"] == "hi-from-swamp"
    assert Path(result["path"]).is_relative_to(repo / ".swamp" / "data")
