"""`swamp ext ...` through the real console script and daemon."""

from __future__ import annotations

from pathlib import Path

from .helpers import MODEL_TYPE, NAME, VERSION, make_archive, make_extension


def test_ext_commands(daemon, run_swampd, tmp_path: Path) -> None:
    make_archive(make_extension(tmp_path / "src"), tmp_path / "extension.tar.gz")  # relative path below
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / ".swamp.yaml").write_text("repoId: x\n")

    installed = run_swampd("--json", "ext", "install", "extension.tar.gz", cwd=str(tmp_path))
    assert installed.returncode == 0, installed
    assert installed.json()["status"] == "installed"

    human = run_swampd("ext", "ls")
    assert human.returncode == 0, human
    assert f"{NAME}@{VERSION}" in human.stdout and MODEL_TYPE in human.stdout

    # run from a subdirectory: the project is the dir holding .swamp.yaml
    linked = run_swampd("--json", "ext", "link", cwd=str(project / "sub"))
    assert linked.returncode == 0, linked
    assert linked.json()["file"] == str(project.resolve() / ".swamp-sources.yaml")

    which = run_swampd("--json", "ext", "which", MODEL_TYPE, "--project", str(project))
    assert which.returncode == 0, which
    assert which.json()["origin"] == "host"
    missing = run_swampd("ext", "which", "@acme/none", "--project", str(project))
    assert missing.returncode == 1 and "not found" in missing.stdout

    refused = run_swampd("--json", "ext", "rm", NAME)
    assert refused.returncode != 0
    assert "linked by 1 project" in refused.stderr

    entry = Path(installed.json()["path"]) / "models" / "server.ts"
    entry.chmod(0o644)
    entry.write_text("tampered\n")
    verify = run_swampd("ext", "verify", f"{NAME}@{VERSION}")
    assert verify.returncode == 1
    assert "DRIFT" in verify.stdout and "changed  models/server.ts" in verify.stdout

    assert run_swampd("ext", "unlink", "--project", str(project)).returncode == 0
    assert not (project / ".swamp-sources.yaml").exists()
    removed = run_swampd("--json", "ext", "rm", f"{NAME}@{VERSION}")
    assert removed.returncode == 0, removed
    assert removed.json()["removed"] == [f"{NAME}@{VERSION}"]
