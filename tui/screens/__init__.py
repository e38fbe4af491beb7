"""One module per pane of the console; `PANES` is their order (keys 1-8)."""

from __future__ import annotations

from tui.screens.base import Pane
from tui.screens.cache import CachePane
from tui.screens.context import ContextPane
from tui.screens.extensions import ExtensionsPane
from tui.screens.fleet import FleetPane
from tui.screens.inflight import InflightPane
from tui.screens.jobs import JobsPane
from tui.screens.overview import OverviewPane
from tui.screens.vault import VaultPane

PANES: tuple[type[Pane], ...] = (OverviewPane, CachePane, InflightPane, JobsPane, VaultPane, ExtensionsPane,
                                 ContextPane, FleetPane)

__all__ = ["PANES", "CachePane", "ContextPane", "ExtensionsPane", "FleetPane", "InflightPane", "JobsPane",
           "OverviewPane", "Pane", "VaultPane"]
