"""The key line at the bottom: the keys the focused pane and the app answer, drawn as one line.

Textual's Footer mounts a widget per key and mounts them all again whenever the bindings change,
which is on every pane switch: more than half of what a switch costs (styles applied to dozens of
new widgets). This draws the same keys as one Text; a click on a key presses it, as on the Footer.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyLine(Widget):
    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyLine > .keyline--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyLine > .keyline--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyLine > .keyline--disabled {
        text-style: dim;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keyline--key", "keyline--description", "keyline--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: list[tuple[str, str, str, bool]] = []
        """(key, shown as, description, enabled) of each key drawn, in order."""
        self._right: tuple[str, str, str, bool] | None = None
        """The command palette's key, drawn at the right end (as the Footer docks it)."""
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        keys = []
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.show:
                keys.append((binding.key, self.app.get_key_display(binding), binding.description, enabled))
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        right = None
        if self.app.ENABLE_COMMAND_PALETTE and palette is not None and not palette[1].show:
            right = (palette[1].key, self.app.get_key_display(palette[1]), palette[1].description, palette[2])
        if keys != self._keys or right != self._right:
            self._keys, self._right = keys, right
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keyline--key")
        description_style = self.get_component_rich_style("keyline--description")
        disabled = self.get_component_rich_style("keyline--disabled")
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []

        def draw(key: str, shown: str, description: str, enabled: bool) -> None:
            start = line.cell_len
            line.append(f" {shown} ", key_style if enabled else key_style + disabled)
            if description:
                line.append(f"{description} ", description_style if enabled else description_style + disabled)
            self._spans.append((start, line.cell_len, key))

        for entry in self._keys:
            draw(*entry)
        if self._right is not None:
            _, shown, description, _ = self._right
            room = self.size.width - line.cell_len - len(f"▏ {shown} {description} ")
            line.append(" " * max(room, 1))
            line.append("▏")
            draw(*self._right)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                enabled = next((k[3] for k in self._keys if k[0] == key), False)
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
