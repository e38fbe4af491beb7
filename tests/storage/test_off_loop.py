"""Opening a repo's datastore (boto3 client, PostgreSQL pool) never runs on the event loop."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from .conftest import write_marker


@pytest.mark.anyio
async def test_first_use_of_a_repo_opens_its_datastore_in_a_worker_thread(service: Any, workdir: Path) -> None:
    repo = workdir / "repo"
    (repo / ".swamp").mkdir(parents=True)
    write_marker(repo, None)
    loop_thread = threading.get_ident()
    opened_in: list[int] = []
    real_open = service.repos._open

    def observed_open(spec: Any) -> Any:
        opened_in.append(threading.get_ident())
        return real_open(spec)

    service.repos._open = observed_open  # observes the call only; the real store is opened
    await service.put(str(repo), "command/shell", "m1", "result", b"hi", content_type="text/plain")
    reply = await service.get(str(repo), "command/shell", "m1", "result")
    assert reply["content"] == "hi"
    assert opened_in and loop_thread not in opened_in
    assert service.repos.cached(str(repo)) is not None  # later calls take the handle without a thread hop


@pytest.mark.anyio
async def test_version_content_is_stored_in_the_hot_tier_from_a_worker_thread(service: Any, workdir: Path) -> None:
    repo = workdir / "repo"
    (repo / ".swamp").mkdir(parents=True)
    write_marker(repo, None)
    loop_thread = threading.get_ident()
    raw_sets: list[int] = []
    real_set = service.hot.set

    def observed_set(key: str, value: bytes, meta: dict[str, Any]) -> Any:
        if key.endswith("/raw"):
            raw_sets.append(threading.get_ident())
        return real_set(key, value, meta)

    service.hot.set = observed_set  # observes only; the real hot tier stores the value
    big = b"x" * (2 << 20)
    await service.put(str(repo), "command/shell", "m1", "blob", big)
    service.hot.clear()
    reply = await service.get(str(repo), "command/shell", "m1", "blob", as_path=True)  # a miss: read and stored
    assert reply["size"] == len(big)
    assert len(raw_sets) == 2 and loop_thread not in raw_sets


@pytest.mark.anyio
async def test_a_model_name_is_looked_up_in_a_worker_thread_then_remembered(
    service: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import swampd.storage.data as data_module

    repo = workdir / "repo"
    (repo / ".swamp").mkdir(parents=True)
    write_marker(repo, None)
    (repo / "models" / "command" / "shell").mkdir(parents=True)
    model_id = "3f0c1d2e-0000-4000-8000-000000000001"
    (repo / "models" / "command" / "shell" / "hello.yaml").write_text(f'id: "{model_id}"\nname: "hello"\n')
    loop_thread = threading.get_ident()
    lookups: list[int] = []
    real_resolve = data_module.resolve_model_id

    def observed_resolve(*args: Any) -> str:
        lookups.append(threading.get_ident())
        return real_resolve(*args)

    monkeypatch.setattr(data_module, "resolve_model_id", observed_resolve)  # observes the real lookup
    await service.put(str(repo), "command/shell", "hello", "result", b"hi", content_type="text/plain")
    reply = await service.get(str(repo), "command/shell", "hello", "result")
    assert reply["model_id"] == model_id and reply["content"] == "hi"
    assert lookups == [lookups[0]] and lookups[0] != loop_thread  # read once, off the loop
