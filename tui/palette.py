"""The ctrl+p palette: every pane, every action of every pane, themes and app commands."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app import DashApp


class DashCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app: DashApp = self.app  # type: ignore[assignment]
        return app.palette_entries()

    async def discover(self) -> Hits:
        for title, help_text, run in self._entries():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(run), text=title, help=help_text)
