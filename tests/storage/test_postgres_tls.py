"""`ssl` as `@webframp/postgres-datastore` means it, on a PostgreSQL server that only takes TLS.

The extension's `require` is TLS without any check (postgres.js `ssl: "require"`); its `verify-ca`
is `{rejectUnauthorized: true, ca}`, which checks the CA *and* the server's name (Node's TLS
default): libpq's `verify-full`, not libpq's `verify-ca`. The server's certificate here is for
`db.internal` only, so connecting to 127.0.0.1 with `verify-ca` must be refused, as the real swamp
refuses it, and connecting to `db.internal` (hostaddr 127.0.0.1) accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from swampd.storage.base import StoreDown
from swampd.storage.postgres import PostgresConfig, PostgresStore

from .servers import PostgresCluster
from .tls_certs import TlsFiles, make_tls_files

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), ["db.internal"])


@pytest.fixture(scope="module")
def tls_pg(tls: TlsFiles) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tcp=True, tls=(tls.cert, tls.key))
    cluster.start()
    yield cluster
    cluster.destroy()


def _store(cluster: PostgresCluster, *, url: str | None = None, **config: Any) -> PostgresStore:
    raw = {"connectionString": url or cluster.url, "schema": "tls_test", **config}
    return PostgresStore(replace(PostgresConfig.from_mapping(raw), connect_timeout=1.0))


def _ping(store: PostgresStore) -> None:
    try:
        store.ping()
    finally:
        store.close()


def test_require_is_tls_without_checks(tls_pg: PostgresCluster) -> None:
    store = _store(tls_pg, ssl="require")
    try:
        store.put("data/t/m/x/latest", b"1")
        with psycopg.connect(tls_pg.tcp_dsn + " sslmode=require", autocommit=True) as admin:
            sessions = admin.execute("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                     "WHERE a.application_name = 'swampd'").fetchall()
        assert sessions and all(ssl for (ssl,) in sessions)
    finally:
        store.close()


def test_disable_is_refused_by_a_tls_only_server(tls_pg: PostgresCluster) -> None:
    with pytest.raises(StoreDown, match="refused the connection"):
        _ping(_store(tls_pg, ssl="disable"))


def test_verify_ca_checks_the_ca_and_the_name(tls_pg: PostgresCluster, tls: TlsFiles) -> None:
    with pytest.raises(StoreDown, match="certificate"):
        _ping(_store(tls_pg, ssl="verify-ca", sslCaPath=str(tls.other_ca)))
    with pytest.raises(StoreDown, match="certificate"):
        _ping(_store(tls_pg, ssl="verify-ca", sslCaPath=str(tls.ca)))  # 127.0.0.1 is not db.internal
    named = f"postgres://postgres@db.internal:{tls_pg.port}/postgres?hostaddr=127.0.0.1"
    _ping(_store(tls_pg, url=named, ssl="verify-ca", sslCaPath=str(tls.ca)))


@pytest.mark.slow
def test_the_real_swamp_accepts_and_refuses_the_same(tls_pg: PostgresCluster, tls: TlsFiles, real_swamp: Any,
                                                     tmp_path: Path) -> None:
    """What the extension itself does with the two blocks swampd's tests above judge."""
    from tests.interop.remote import EXTENSIONS, swamp_json

    repo = real_swamp.init_repo(tmp_path / "repo")
    real_swamp.json("extension", "source", "add", str(EXTENSIONS["@webframp/postgres-datastore"]),
                    "--only", "datastores", cwd=repo)
    seen = {}
    for ssl, extra in (("require", {}), ("verify-ca", {"sslCaPath": str(tls.ca)})):
        marker = yaml.safe_load((repo / ".swamp.yaml").read_text())
        marker["datastore"] = {"type": "@webframp/postgres-datastore",
                               "config": {"connectionString": tls_pg.url, "schema": "tls_swamp", "ssl": ssl, **extra}}
        (repo / ".swamp.yaml").write_text(yaml.safe_dump(marker, sort_keys=False))
        seen[ssl] = swamp_json(real_swamp, "datastore", "status", cwd=repo)
    assert seen["require"]["healthy"] is True, json.dumps(seen["require"])
    assert seen["verify-ca"]["healthy"] is False
    assert "ERR_TLS_CERT_ALTNAME_INVALID" in seen["verify-ca"]["message"]
