"""Painting one plain table cell without Rich's general renderer.

DataTable paints every cell through `console.render_lines(Styled(Padding(Text)))`: a dozen
generators and style additions per cell, ~0.15 ms each, and a pane switch repaints a screenful
(~450 cells of a 1,000-row jobs table). Most cells are one line of printable ASCII in one style;
for those this builds the very segments that pipeline yields (same texts, same styles, same
order: tests/tui/test_units.py compares them on generated cells). Anything else returns None and
the caller paints it the general way.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

NULL = Style.null()


def _styled(pre: Style, post: Style, style: Style | None) -> Style | None:
    """What `Segment.apply_style(segments, pre, post)` makes of one segment's style."""
    if pre:
        style = pre + style
    if post:
        style = style + post if style else post
    return style


def paint_plain(text: object, text_style: Style | None, pre: Style, post: Style, width: int,
                padding: int) -> list[list[Segment]] | None:
    """The cell's one line of segments, or None when it is not a plain one-line cell.

    `text_style` is the console's style for `text.style` (None for an unstyled text);
    `pre`/`post` are the styles DataTable puts under and over the cell.
    """
    if not isinstance(text, Text) or text.spans or not text.no_wrap or text.end or text.justify:
        return None
    if text.overflow != "ellipsis":
        return None
    plain = text.plain
    inner = width - 2 * padding
    if not plain or inner < 1 or not (plain.isascii() and plain.isprintable()):
        return None
    fit = plain if len(plain) <= inner else plain[: inner - 1] + "…"
    edge = _styled(pre, post, NULL)
    side = Segment(" " * padding, edge)
    line = [side, Segment(fit, _styled(pre, post, text_style))] if padding else [
        Segment(fit, _styled(pre, post, text_style))]
    if len(fit) < inner:
        line.append(Segment(" " * (inner - len(fit)), edge))
    if padding:
        line.append(side)
    return [line]
