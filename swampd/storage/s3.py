"""An S3 datastore (boto3), configured like `@swamp/s3-datastore`; keys `{prefix}/[{ns}/]{relpath}`.

Writes are published to swamp's index (`s3_index`) under swamp's global lock, as the extension's
push does, so every swamp client pulls them; the index is also the change signal (`s3_watch`).
"""

from __future__ import annotations

import builtins
import threading
import time
from dataclasses import dataclass
from typing import Any

from swampd.errors import InvalidInput
from swampd.storage import s3_index
from swampd.storage.base import (
    NOT_MODIFIED,
    Blob,
    ChangeListener,
    DistributedLock,
    JournalWriter,
    Stat,
    StoreDown,
    TransientError,
    Writer,
    retry,
)

_TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
                    "ServiceUnavailable", "503", "500"}


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint: str | None = None
    force_path_style: bool = False
    request_timeout_ms: int = 30000

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> S3Config:
        bucket = raw.get("bucket")
        if not isinstance(bucket, str) or not bucket:
            raise InvalidInput("s3 datastore config needs a bucket")
        timeout = int(raw.get("requestTimeoutMs", 30000))
        if not 1000 <= timeout <= 600000:
            raise InvalidInput("s3 datastore requestTimeoutMs must be within 1000..600000")
        return cls(
            bucket=bucket,
            prefix=str(raw.get("prefix") or "").strip("/"),
            region=raw.get("region") or None,
            endpoint=raw.get("endpoint") or None,
            force_path_style=bool(raw.get("forcePathStyle", False)),
            request_timeout_ms=timeout,
        )


class S3Store:
    kind = "s3"

    def __init__(self, config: S3Config, namespace: str | None = None, *, client_of: S3Store | None = None) -> None:
        self.config = config
        self.namespace = namespace
        parts = [p for p in (config.prefix, namespace) if p]
        self._key_prefix = "/".join(parts) + "/" if parts else ""
        self.identity = f"s3:{config.endpoint or 'aws'}/{config.bucket}/{self._key_prefix}"
        self._client: Any = None
        self._client_of = client_of
        self._lock = threading.Lock()
        self._last_used = time.monotonic()
        self._watcher: Any = None
        self._indexed = False

    @property
    def has_change_signal(self) -> bool:
        """True while swamp's index answers the watcher: pointers then change only with the index."""
        return self._watcher is not None and self._watcher.live

    @property
    def client(self) -> Any:
        """One boto3 client per datastore, built once and reused (clients are thread-safe)."""
        if self._client_of is not None:
            return self._client_of.client
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config as BotoConfig

                    session = boto3.session.Session()
                    seconds = self.config.request_timeout_ms / 1000
                    self._client = session.client(
                        "s3",
                        region_name=self.config.region or "us-east-1",
                        endpoint_url=self.config.endpoint,
                        config=BotoConfig(
                            s3={"addressing_style": "path" if self.config.force_path_style else "auto"},
                            connect_timeout=min(seconds, 5),
                            read_timeout=seconds,
                            retries={"max_attempts": 1, "mode": "standard"},
                            max_pool_connections=32,
                        ),
                    )
        return self._client

    def key(self, path: str) -> str:
        return self._key_prefix + path.strip("/")

    def _call(self, what: str, fn: Any) -> Any:
        """Run one S3 call, mapping botocore errors to ours (no driver text leaves here)."""
        from botocore.exceptions import BotoCoreError, ClientError
        from botocore.exceptions import ConnectionError as BotoConnError

        def attempt() -> Any:
            try:
                return fn()
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in _TRANSIENT_CODES or status >= 500:
                    raise TransientError(f"{what}: s3 error {code or status}") from None
                raise
            except (BotoConnError, BotoCoreError):
                raise TransientError(f"{what}: bucket {self.config.bucket} is unreachable") from None

        return retry(attempt)

    @staticmethod
    def _code(exc: Exception) -> str:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code or str(status)

    def get(self, path: str, *, if_none_match: str | None = None) -> Blob | object | None:
        from botocore.exceptions import ClientError

        self._last_used = time.monotonic()
        kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Key": self.key(path)}
        if if_none_match:
            kwargs["IfNoneMatch"] = if_none_match
        try:
            resp = self._call("get", lambda: self.client.get_object(**kwargs))
        except ClientError as exc:
            code = self._code(exc)
            if code in ("304", "NotModified"):
                return NOT_MODIFIED
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise StoreDown(f"get {path}: s3 error {code}") from None
        body = resp["Body"]
        try:
            data = body.read()
        finally:
            body.close()
        return Blob(data, resp.get("ETag", ""))

    def head(self, path: str) -> Stat | None:
        from botocore.exceptions import ClientError

        self._last_used = time.monotonic()
        try:
            resp = self._call("head", lambda: self.client.head_object(Bucket=self.config.bucket, Key=self.key(path)))
        except ClientError as exc:
            code = self._code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise StoreDown(f"head {path}: s3 error {code}") from None
        return Stat(int(resp.get("ContentLength", 0)), resp.get("ETag", ""))

    def put(self, path: str, data: bytes) -> str:
        from botocore.exceptions import ClientError

        try:
            resp = self._call(
                "put", lambda: self.client.put_object(Bucket=self.config.bucket, Key=self.key(path), Body=data)
            )
        except ClientError as exc:
            raise StoreDown(f"put {path}: s3 error {self._code(exc)}") from None
        etag: str = resp.get("ETag", "")
        return etag

    def create(self, path: str, data: bytes) -> bool:
        """`PutObject` with `If-None-Match: *` (how S3Lock takes a lock)."""
        from botocore.exceptions import ClientError

        try:
            self._call(
                "create",
                lambda: self.client.put_object(
                    Bucket=self.config.bucket, Key=self.key(path), Body=data, IfNoneMatch="*"
                ),
            )
        except ClientError as exc:
            code = self._code(exc)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise StoreDown(f"create {path}: s3 error {code}") from None
        return True

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        return self.create(f"{version_dir.rstrip('/')}/metadata.yaml", metadata)

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        from botocore.exceptions import ClientError

        self._last_used = time.monotonic()
        base = prefix.strip("/")
        full = self.key(base) + "/" if base else self._key_prefix
        kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": full}
        if not recursive:
            kwargs["Delimiter"] = "/"
        out: list[str] = []
        token: str | None = None
        try:
            while True:
                if token:
                    kwargs["ContinuationToken"] = token
                resp = self._call("list", lambda: self.client.list_objects_v2(**kwargs))
                for item in resp.get("Contents", []):
                    rel = item["Key"][len(full):]
                    if not rel or _skipped(f"{base}/{rel}", is_dir=False):
                        continue
                    out.append(f"{base}/{rel}" if recursive and base else rel)
                for cp in resp.get("CommonPrefixes", []):
                    rel = cp["Prefix"][len(full):]
                    if rel and not _skipped(f"{base}/{rel}", is_dir=True):
                        out.append(rel)
                if not resp.get("IsTruncated"):
                    break
                token = resp.get("NextContinuationToken")
        except ClientError as exc:
            raise StoreDown(f"list {prefix}: s3 error {self._code(exc)}") from None
        return sorted(out)

    def delete(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call("delete", lambda: self.client.delete_object(Bucket=self.config.bucket, Key=self.key(path)))
        except ClientError as exc:
            raise StoreDown(f"delete {path}: s3 error {self._code(exc)}") from None
        return True

    # -- swamp's locks and index ------------------------------------------------------------

    def model_lock(self, model_dir: str, *, max_wait_ms: int = 60000) -> DistributedLock:
        """swamp's S3Lock key `{prefix}/[{ns}/]data/{type}/{modelId}/.lock` (a conditional create)."""
        from swampd.storage.locks import StoreLock

        return StoreLock(self, f"{model_dir.strip('/')}/.lock", retry_interval_ms=50, max_wait_ms=max_wait_ms)

    def global_lock(self, *, max_wait_ms: int = 60000) -> DistributedLock:
        """`{prefix}/.datastore.lock`, or `{prefix}/.locks/{ns}.lock` in a namespace."""
        from swampd.storage.locks import StoreLock

        root = S3Store(self.config, None, client_of=self)
        key = f".locks/{self.namespace}.lock" if self.namespace else ".datastore.lock"
        return StoreLock(root, key, retry_interval_ms=100, max_wait_ms=max_wait_ms)

    def writer(self) -> Writer:
        return JournalWriter(self, digest=True)

    def publish(self, written: dict[str, tuple[int, str] | None], listed: dict[str, builtins.list[str]]) -> None:
        """Publish a version write to swamp's index, as the extension's `commitPush` does, under
        swamp's global lock. Version dirs of the same data name that are in the bucket but not
        in the index (a write of ours killed before this step) are published with it."""
        entries: dict[str, s3_index.Entry] = {}
        for rel, digest in written.items():
            if digest is not None:
                size, sha = digest
                entries[rel] = s3_index.entry(rel, size, sha)
        orphans = [f"{prefix}{name.rstrip('/')}" for prefix, names in listed.items() if prefix.endswith("/")
                   for name in names if name.endswith("/") and name[:-1].isdigit()]
        orphans = [d for d in orphans if f"{d}/metadata.yaml" not in entries]
        if not self._indexed:
            if not s3_index.exists(self):
                return  # no swamp client has pushed: swamp lists the bucket (our objects too) on its first pull
            self._indexed = True  # an index, once there, stays
        lock = self.global_lock()
        lock.acquire()
        try:
            s3_index.publish(self, entries, orphans)
        finally:
            try:
                lock.release()
            except StoreDown:
                pass  # expires by its TTL
        if self._watcher is not None:
            self._watcher.published(entries)

    def ping(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call("ping", lambda: self.client.head_bucket(Bucket=self.config.bucket))
        except ClientError as exc:
            raise StoreDown(f"bucket {self.config.bucket}: s3 error {self._code(exc)}") from None

    def set_listener(self, listener: ChangeListener | None, *, interval: float = 1.0) -> None:
        """Watch swamp's index for changes (`s3_watch`); without an index (no swamp client has
        pushed yet) pointers are revalidated with conditional GETs (ETag)."""
        from swampd.storage.s3_watch import IndexWatcher

        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if listener is not None:
            reader = S3Store(self.config, self.namespace, client_of=self)  # its polls do not count as use
            self._watcher = IndexWatcher(reader, listener, interval, lambda: self._last_used)
            self._watcher.start()

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        if self._client_of is not None:
            return
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _skipped(path: str, *, is_dir: bool) -> bool:
    from swampd.storage.layout import is_skipped

    return is_skipped(path, is_dir=is_dir)
