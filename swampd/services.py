"""The service container: the one place the daemon (and `--no-daemon`) builds its subsystems.

Subsystems are built on first use so that a daemon answering `daemon.hello` does not pay
for boto3, psycopg or keyring; each receives its dependencies explicitly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from swampd import __version__
from swampd.config import Config
from swampd.server.events import EventBus, EventSettings

if TYPE_CHECKING:
    from swampd.context.service import ContextService
    from swampd.extensions.service import ExtensionService
    from swampd.fanout import Coalescer
    from swampd.fleet.service import FleetService
    from swampd.front.service import FrontService
    from swampd.history import History
    from swampd.jobs.manager import JobManager
    from swampd.peer import Connection
    from swampd.storage.control import CacheControl
    from swampd.storage.data import DataService
    from swampd.storage.repos import RepoRegistry
    from swampd.vault.service import VaultService


class DaemonState:
    """Counters and facts about the running daemon that `daemon.status` reports."""

    def __init__(self, *, in_process: bool) -> None:
        self.pid = os.getpid()
        self.version = __version__
        self.started_at = time.time()
        self.started_monotonic = time.monotonic()
        self.in_process = in_process
        self.connections = 0
        self.connections_total = 0
        self.requests_total = 0
        self.requests_in_flight = 0
        self.requests_answered_now = 0
        """Requests answered from memory within the read of the request (a method's `now` variant)."""
        self.requests_answered_again = 0
        """Of those, lines answered again: the same as one answered before but for the id (no decode)."""
        self.draining = False

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_monotonic


class DaemonControl(Protocol):
    """What handlers may ask of the running daemon process."""

    def request_stop(self, reason: str) -> None: ...

    def connections(self) -> Sequence[Connection]:
        """The open client connections (`daemon.top`, `daemon.peers`)."""
        ...

    def limits(self) -> dict[str, Any]:
        """Connection, frame-budget and log-repeat counters (what `daemon.status` shows)."""
        ...


class Services:
    def __init__(self, config: Config, *, bus: EventBus | None = None, in_process: bool = False) -> None:
        self.config = config
        self.bus = bus or EventBus(EventSettings.from_mapping(config.section("events")).history)
        self.state = DaemonState(in_process=in_process)
        self._closers: list[Any] = []
        self.control: DaemonControl | None = None
        """The running daemon; None when handlers run in-process (`--no-daemon`)."""

    def publish(self, topic: str, data: dict[str, Any], detail: dict[str, Any] | None = None) -> None:
        if detail is None:
            self.bus.publish(topic, data)
        else:
            self.bus.publish(topic, data, detail)

    # Subsystems are added below as cached properties, e.g.:
    #
    #   @cached_property
    #   def jobs(self) -> JobManager:
    #       from swampd.jobs.manager import JobManager
    #       manager = JobManager(JobSettings.from_mapping(self.config.section("jobs")), ...)
    #       self._closers.append(manager)
    #       return manager

    @cached_property
    def extensions(self) -> ExtensionService:
        """The host extension store (swampd/extensions), shared by every project on the host."""
        from swampd.extensions.service import ExtensionService

        return ExtensionService.from_config(self.config.paths.data_dir, self.config.section("extensions"), self.publish)

    @cached_property
    def fanout(self) -> Coalescer:
        """Singleflight for identical in-flight calls (started at boot: it owns their scope)."""
        from swampd.fanout import Coalescer

        coalescer = Coalescer(self.publish)
        self._closers.append(coalescer)
        return coalescer

    @cached_property
    def jobs(self) -> JobManager:
        """Job runner (started at boot to reap jobs a killed daemon left running)."""
        from swampd.fleet.runner import FleetJobRunner
        from swampd.fleet.serve import ServeDispatcher
        from swampd.jobs.manager import JobManager
        from swampd.jobs.settings import JobSettings
        from swampd.jobs.store import JobStore

        state_dir = self.config.paths.state_dir
        manager = JobManager(
            JobSettings.from_mapping(self.config.section("jobs")),
            store=JobStore(os.path.join(state_dir, "jobs.sqlite3")),
            coalescer=self.fanout,
            log_dir=os.path.join(state_dir, "jobs"),
            publish=self.publish,
            remote=FleetJobRunner(self.fleet, ServeDispatcher(self.fleet, reveal=self._reveal_secret)),
        )
        self._closers.append(manager)
        return manager

    @cached_property
    def fleet(self) -> FleetService:
        """Other hosts' daemons over ssh and swamp serve endpoints (swampd/fleet)."""
        from swampd.fleet.service import FleetService

        service = FleetService.from_config(
            self.config.section("fleet"), self.config.paths.config_file, self.publish,
            state_dir=self.config.paths.state_dir,
            extensions=lambda: self.extensions, vault=lambda: self.vault,  # built on first use only
        )
        self._closers.append(service)
        return service

    async def _reveal_secret(self, vault: str, key: str, repo: str | None, caller: str) -> str:
        """A secret's value for another subsystem (a serve endpoint's token): an audited reveal."""
        reply = await self.vault.get(vault, key, repo=repo, reveal=True, caller=caller)
        return str(reply["value"])

    @cached_property
    def vault(self) -> VaultService:
        """Host vault (keyring) and the local_encryption vaults of every registered repo."""
        from swampd.vault.service import VaultService
        from swampd.vault.settings import VaultSettings

        service = VaultService(
            VaultSettings.from_mapping(self.config.section("vault")),
            data_dir=self.config.paths.data_dir,
            state_dir=self.config.paths.state_dir,
            publish=self.publish,
            list_repo_dirs=self.repos.paths,  # repo dirs only: no datastore is opened for the vault
            resolve_repo=self.repos.path_of,
        )
        self._closers.append(service)  # aclose() drops every warm key on stop
        return service

    @cached_property
    def repos(self) -> RepoRegistry:
        """The repos this daemon serves and their (shared) datastore clients (swampd/storage)."""
        from swampd.storage.repos import RepoRegistry

        return RepoRegistry(self.config.paths.data_dir)

    @cached_property
    def data(self) -> DataService:
        """swamp data through the hot tier (swampd/storage)."""
        from swampd.storage.data import DataService
        from swampd.storage.hottier import CacheSettings, HotTier

        settings = CacheSettings.from_mapping(self.config.section("cache"))
        hot = HotTier(os.path.join(self.config.paths.cache_dir, "hot"), settings)
        service = DataService(self.repos, hot, settings, self.publish, coalescer=self.fanout)
        self._closers.append(service)
        return service

    @cached_property
    def cache(self) -> CacheControl:
        """Hot-tier control: stats, keys, evict, prefetch, datastore health (swampd/storage)."""
        from swampd.storage.control import CacheControl

        return CacheControl(self.data)

    @cached_property
    def front(self) -> FrontService:
        """The `swamp` front end's daemon side: accelerated swamp commands, call counts (swampd/front)."""
        from swampd.front.service import FrontService
        from swampd.front.settings import FrontSettings

        async def reveal(vault: str, key: str, repo: str, caller: str) -> str:
            got = await self.vault.get(vault, key, repo=repo, reveal=True, caller=caller, audit=False)
            return str(got["value"])

        return FrontService(FrontSettings.from_mapping(self.config.section("front")),
                            runtime_dir=self.config.paths.runtime_dir, config_file=self.config.paths.config_file,
                            in_process=self.state.in_process, reveal=reveal)

    @cached_property
    def context(self) -> ContextService:
        """Shared agent context: scoped JSON values with TTLs and compare-and-set (swampd/context)."""
        from swampd.context.service import ContextService
        from swampd.context.settings import ContextSettings

        service = ContextService(
            ContextSettings.from_mapping(self.config.section("context")),
            os.path.join(self.config.paths.cache_dir, "context"),
            self.publish,
            persist=lambda *args, **kwargs: self.data.put(*args, **kwargs),  # the datastore only when asked
        )
        self._closers.append(service)
        return service

    @cached_property
    def history(self) -> History:
        """The last hour of the daemon's counters, sampled once a second (`stats.history`)."""
        from swampd.history import History

        history = History(self._counters)
        self._closers.append(history)
        return history

    def _counters(self) -> tuple[int, int, int]:
        """requests_total, cache hits, cache reads: without building the data service."""
        data = self.__dict__.get("data")
        hits, reads = data.stats.totals() if data is not None else (0, 0)
        return self.state.requests_total, hits, reads

    def busy_reasons(self) -> list[str]:
        """Why the daemon must not exit on idle now (empty when it may)."""
        reasons = []
        if self.state.requests_in_flight:
            reasons.append(f"{self.state.requests_in_flight} request(s) in flight")
        if self.bus.subscription_count:
            reasons.append(f"{self.bus.subscription_count} subscription(s)")
        for name in self._built():
            busy = getattr(self.__dict__[name], "busy_reason", None)
            if callable(busy) and (reason := busy()):
                reasons.append(reason)
        return reasons

    def _built(self) -> list[str]:
        return [n for n, v in type(self).__dict__.items() if isinstance(v, cached_property) and n in self.__dict__]

    async def start(self) -> None:
        """Start what must run from boot (e.g. reaping jobs left by a killed daemon)."""
        for name in self.eager:
            subsystem = getattr(self, name)
            start = getattr(subsystem, "start", None)
            if start is not None:
                await start()

    eager: tuple[str, ...] = ("fanout", "jobs", "extensions", "fleet", "front", "history")
    """Subsystems built and started at boot rather than on first use."""

    async def aclose(self) -> None:
        for closer in reversed(self._closers):
            aclose = getattr(closer, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001 - shutting down: close the rest regardless
                    pass
