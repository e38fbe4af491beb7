"""A Static for text the console rewrites every tick (status line, summaries, titles).

`Static.update` lays the whole screen out again on every call, and a layout repaints every
visible widget: with a 1,000-row jobs table on screen, each tick's status line cost a full
table repaint. A TextBox skips an update that changes nothing, and lays out only when the new
text can change its size (an auto-sized box on screen); a hidden pane is laid out when shown.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return (a.plain, a.spans, a.style, a.justify, a.overflow, a.no_wrap, a.end) == (
            b.plain, b.spans, b.style, b.justify, b.overflow, b.no_wrap, b.end)
    return type(a) is str and type(b) is str and a == b


class TextBox(Static):
    def update(self, content: Any = "", *, layout: bool | None = None) -> None:
        if layout is None:
            if _same(content, self.content):
                return
            height, width = self.styles.height, self.styles.width
            resizes = (height is not None and height.is_auto) or (width is not None and width.is_auto)
            layout = resizes and bool(self.region)
        super().update(content, layout=layout)
