"""A DataTable synced by row key: only changed cells are touched (textual#6457).

What it adds to Textual's DataTable:

- rows are keyed records: `sync` diffs them in; the cursor stays on its row's key while rows
  come, go and move (an insertion above the cursor never moves the highlight to another row);
- cells are data, never markup (`Cell.text` becomes a plain `Text`), coloured by a *tone*
  that the theme decides (`ok`, `bad`, `warn`, `active`, `muted`);
- sort by any column (header click, `<` `>` to choose the column, `I` to invert), typed by
  `Cell.sort` so durations and sizes sort as numbers; the choice stays until changed;
- columns take the width there is: one flexible column gets what is left, and when the
  terminal is too narrow the least important columns (`Col.drop`, highest first) go.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.color import Color, ColorParseError
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellKey, ColumnKey, RowDoesNotExist, RowKey

from tui.widgets.cell_paint import paint_plain

PAINTED_CELLS = 4096
"""Cells kept painted: a full 220x60 screen of a ten-column table is ~600."""
PAINTED_LINES = 1024
"""Table lines kept drawn: a 60-line screen in both zebra stripes, with room for scrolling back."""
TONES = {"ok": "success", "bad": "error", "warn": "warning", "active": "accent", "info": "secondary"}
"""Cell tone -> the theme variable that colours it (every shipped theme defines them all)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its text (shown as is), what it sorts by, and its tone."""

    text: str
    sort: Any = None
    tone: str = ""

    @property
    def sort_value(self) -> Any:
        return self.text if self.sort is None else self.sort


@dataclass(frozen=True, slots=True)
class Col:
    """A column: key, header, and how it behaves when width is short.

    `flex` takes the width the other columns leave (at least `min`); `drop` > 0 may be hidden
    when the terminal is narrow, the highest first; `max` caps a column's natural width.
    """

    key: str
    label: str
    flex: bool = False
    min: int = 4
    max: int = 48
    drop: int = 0


Row = tuple[Any, ...]


def theme_style(variables: Mapping[str, str], tone: str) -> str:
    """A Rich style for a tone in the current theme: its colour, bold for failures and the running."""
    if tone == "muted":
        return "dim"
    if tone == "off":
        return "dim italic"
    try:
        colour = Color.parse(variables.get(TONES.get(tone, ""), "")).hex6
    except ColorParseError:
        return ""
    return f"bold {colour}" if tone in ("bad", "active") else colour


def as_cell(value: Any) -> Cell:
    if isinstance(value, Cell):
        return value
    if value is None:
        return Cell("-")
    if isinstance(value, bool):
        return Cell("yes" if value else "")
    if isinstance(value, int | float):
        return Cell(f"{value:,}" if isinstance(value, int) else f"{value:,.1f}", sort=value)
    return Cell(str(value))


def _stamped(segments: Iterable[Segment], meta: Style) -> list[Segment]:
    """The same segments, those that carry a cell position (a `row` in their style's meta) carrying
    the one in `meta` instead (its keys replace theirs; every other attribute of each style stays).
    Segments without one, such as the padding a Strip adds, stay as they are."""
    return [Segment(segment.text, segment.style + meta, segment.control)
            if segment.style is not None and segment.style._meta is not None and "row" in segment.style.meta
            else segment for segment in segments]


def _sort_key(cell: Cell | None) -> tuple[int, Any]:
    value = None if cell is None else cell.sort_value
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if value is None or value in ("", "-"):
        return (0, "")  # empty cells sort before any value (last when descending)
    return (2, str(value).lower())


class LiveTable(DataTable[Any]):
    """Rows live in `self.source_rows` (key -> cells); `sync` diffs them into the table.

    A filter hides rows whose text does not contain it (case-insensitive). Rows are ordered by
    the sort column when one is chosen, else by `order(key, cells)` when given, else as added.
    """

    BINDINGS: ClassVar = [
        Binding("less_than_sign", "sort_column(-1)", "sort ◂", show=False),
        Binding("greater_than_sign", "sort_column(1)", "sort ▸", show=False),
        Binding("I", "invert_sort", "invert sort", show=False),
    ]

    def __init__(
        self,
        columns: Sequence[Col | tuple[str, str]],
        *,
        order: Callable[[str, Row], Any] | None = None,
        sort: tuple[str, bool] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.column_spec = [c if isinstance(c, Col) else Col(c[0], c[1]) for c in columns]
        self._index = {c.key: i for i, c in enumerate(self.column_spec)}
        self.order = order
        self.sort_by: str | None = sort[0] if sort else None
        self.sort_reverse = sort[1] if sort else False
        self.source_rows: dict[str, tuple[Cell, ...]] = {}
        self.filter_text = ""
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._visible: list[Col] = []
        self._widths: dict[str, int] = {}
        self._natural: list[int] = [len(c.label) for c in self.column_spec]
        self._styles: dict[str, str] = {}
        self.dimmed = False
        self._row_versions: dict[RowKey, int] = {}
        self._versions = itertools.count(1)
        self._painted: LRUCache[tuple[Any, ...], Any] = LRUCache(PAINTED_CELLS)
        self._drawn: LRUCache[tuple[Any, ...], tuple[int, Strip]] = LRUCache(PAINTED_LINES)
        self._pass_columns: tuple[tuple[Any, int], ...] | None = None
        self._row_styles: dict[tuple[int, Style], Style] | None = None
        self._pass_style: Style | None = None
        self._pass_backgrounds: tuple[Color, Color] | None = None

    def on_mount(self) -> None:
        self._layout(force=True)

    # -- data --------------------------------------------------------------------------------

    def sync(self, rows: Mapping[str, Row]) -> None:
        """Make the table show `rows` (filtered), touching only what changed."""
        self.source_rows = {k: self._cells(r) for k, r in rows.items()}
        self._natural = self._measure(self.source_rows.values())
        self._apply()

    def merge(self, rows: Mapping[str, Row], gone: Iterable[str] = ()) -> None:
        """Add or change `rows` and remove the `gone` keys in one pass: one sort and one cursor
        restore for the whole batch (row by row, each new row re-sorts the table)."""
        for key in gone:
            self.source_rows.pop(key, None)
        for key, row in rows.items():
            cells = self._cells(row)
            self.source_rows[key] = cells
            for i, cell in enumerate(cells):
                if len(cell.text) > self._natural[i]:
                    self._natural[i] = len(cell.text)
        self._apply()

    def upsert(self, key: str, row: Row) -> None:
        cells = self._cells(row)
        self.source_rows[key] = cells
        self._grow(cells)
        self._apply_one(key)

    def discard(self, key: str) -> None:
        self.source_rows.pop(key, None)
        self._apply_one(key)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._apply()

    def visible_keys(self) -> list[str]:
        keys = (self._row_locations.get_key(i) for i in range(self.row_count))
        return [str(k.value) for k in keys if k is not None]

    def keys_near_view(self) -> list[str]:
        """Keys of the rows on screen, and a screenful either side (what a scroll shows next)."""
        height = max(self.size.height, 1)
        start = max(int(self.scroll_y) - height, 0)
        end = min(int(self.scroll_y) + 2 * height, self.row_count)
        keys = (self._row_locations.get_key(i) for i in range(start, end))
        return [str(k.value) for k in keys if k is not None]

    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None

    def cell_text(self, key: str, column: str) -> str:
        row = self.source_rows.get(key)
        return row[self._index[column]].text if row is not None else ""

    # -- sorting -------------------------------------------------------------------------------

    def set_sort(self, column: str | None, reverse: bool = False) -> None:
        if column is not None and column not in self._index:
            return
        self.sort_by, self.sort_reverse = column, reverse
        self._relabel()
        self._keeping_cursor(self._resort)

    def action_sort_column(self, step: int) -> None:
        keys = [c.key for c in self._visible] or [c.key for c in self.column_spec]
        if self.sort_by in keys:
            index = (keys.index(self.sort_by) + step) % len(keys)
        else:
            index = 0 if step > 0 else len(keys) - 1
        self.set_sort(keys[index], self.sort_reverse)

    def action_invert_sort(self) -> None:
        if self.sort_by is None:
            self.set_sort(self._visible[0].key if self._visible else self.column_spec[0].key, True)
        else:
            self.set_sort(self.sort_by, not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        self.set_sort(column, not self.sort_reverse if column == self.sort_by else False)

    def sort_label(self) -> str:
        if self.sort_by is None:
            return ""
        label = self.column_spec[self._index[self.sort_by]].label
        return f"{label} {'▼' if self.sort_reverse else '▲'}"

    # -- tone and dimming -----------------------------------------------------------------------

    def retone(self) -> None:
        """The theme changed: recolour every shown cell."""
        self._styles = {}
        for key, cells in self._shown.items():
            for col in self._visible:
                cell = cells[self._index[col.key]]
                if cell.tone:
                    self._set_cell(key, col.key, cell)

    def set_dimmed(self, dimmed: bool) -> None:
        if dimmed != self.dimmed:
            self.dimmed = dimmed
            self.set_class(dimmed, "stale-data")

    def _style(self, tone: str) -> str:
        if not tone:
            return ""
        style = self._styles.get(tone)
        if style is None:
            style = theme_style(self.app.theme_variables, tone)
            self._styles[tone] = style
        return style

    def _cell_text(self, cell: Cell) -> Text:  # not `_render`: that is Widget's own
        return Text(cell.text, style=self._style(cell.tone), no_wrap=True, overflow="ellipsis", end="")

    # -- width ----------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._layout()

    def _measure(self, rows: Iterable[tuple[Cell, ...]]) -> list[int]:
        natural = [len(c.label) + (2 if c.key == self.sort_by else 0) for c in self.column_spec]
        for cells in rows:
            for i, cell in enumerate(cells):
                if len(cell.text) > natural[i]:
                    natural[i] = len(cell.text)
        return natural

    def _grow(self, cells: tuple[Cell, ...]) -> None:
        grown = False
        for i, cell in enumerate(cells):
            if len(cell.text) > self._natural[i]:
                self._natural[i] = len(cell.text)
                grown = True
        if grown:
            self._layout()

    def _plan(self, width: int) -> tuple[list[Col], dict[str, int]]:
        """Which columns show and how wide, for `width` cells of room."""
        pad = 2 * self.cell_padding
        visible = list(self.column_spec)
        while True:
            widths = {c.key: min(c.max, max(1, self._natural[self._index[c.key]])) for c in visible if not c.flex}
            flex = [c for c in visible if c.flex]
            room = width - sum(w + pad for w in widths.values()) - pad * len(flex)
            droppable = [c for c in visible if c.drop]
            if room >= sum(c.min for c in flex) or not droppable:
                for c in flex:  # one flexible column per table; more share what is left evenly
                    natural = self._natural[self._index[c.key]]
                    widths[c.key] = max(c.min, min(natural, room // len(flex)))
                return visible, widths
            visible.remove(max(droppable, key=lambda c: c.drop))

    def _layout(self, force: bool = False) -> None:
        if not force and not self._visible:
            return  # not mounted yet: on_mount lays out
        width = self.size.width - 2  # the vertical scrollbar
        if width <= 0:
            width = (self.app.size.width if self.app else 80) - 4
        visible, widths = self._plan(width)
        if not force and visible == self._visible and widths == self._widths:
            return
        if force or [c.key for c in visible] != [c.key for c in self._visible]:
            self._rebuild(visible, widths)
            return
        self._widths = widths
        for col in visible:
            column = self.columns.get(ColumnKey(col.key))
            if column is not None:
                column.width = widths[col.key]
                column.auto_width = False
        self._require_update_dimensions = True
        self.refresh()

    def _rebuild(self, visible: list[Col], widths: dict[str, int]) -> None:
        cursor = self.cursor_key()
        self._visible, self._widths = visible, widths
        self.clear(columns=True)
        self._shown = {}
        for col in visible:
            self.add_column(self._header(col), key=col.key, width=widths[col.key])
        self._apply()
        self._restore_cursor(cursor)

    def _header(self, col: Col) -> Text:
        if col.key != self.sort_by:
            return Text(col.label)
        return Text(f"{col.label} {'▼' if self.sort_reverse else '▲'}", style="bold")

    def _relabel(self) -> None:
        for col in self._visible:
            column = self.columns.get(ColumnKey(col.key))
            if column is not None:
                column.label = self._header(col)
        self._natural = self._measure(self.source_rows.values())
        self._layout()
        self._require_update_dimensions = True
        self.refresh()

    # -- painting ----------------------------------------------------------------------------

    def render_lines(self, crop: Any) -> Any:
        # For one pass (the CSS cannot change during it): the zebra styles, and the widget's own
        # style and background colours, which Textual otherwise recomputes from every ancestor
        # for each line drawn.
        self._row_styles = {}
        self._pass_style = super().rich_style
        self._pass_backgrounds = super().background_colors
        self._pass_columns = self._column_widths()
        try:
            return super().render_lines(crop)
        finally:
            self._row_styles = None
            self._pass_style = None
            self._pass_backgrounds = None
            self._pass_columns = None

    def _column_widths(self) -> tuple[tuple[Any, int], ...]:
        return tuple((column.key, column.get_render_width(self)) for column in self.ordered_columns)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable keys its drawn lines on the table-wide change counter and the cursor's and
        mouse's exact cells, so any change redraws every line on screen. Here a row's line is kept
        by what it shows: the row's key and version, its zebra stripe, whether the cursor or the
        mouse is on it, and the columns' widths; a row that only moved gets the line drawn before,
        with the row number the mouse reads from its segments stamped anew."""
        if self.cursor_type != "row" or self.fixed_columns or (self._labelled_row_exists and self.show_row_labels):
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_locations.get(row_key)
        if row_index is None:  # the header
            return super()._render_line(y, x1, x2, base_style)
        show_cursor = self.show_cursor
        key = (row_key, self._row_versions.get(row_key, 0), line_no, x1, x2, self.size.width, base_style,
               row_index % 2, row_index < self.fixed_rows, show_cursor and self.cursor_row == row_index,
               show_cursor and self._show_hover_cursor and self.hover_row == row_index, show_cursor,
               self._show_hover_cursor, self._pseudo_class_state, self.app.theme,
               self._pass_columns if self._pass_columns is not None else self._column_widths())
        drawn = self._drawn.get(key)
        if drawn is None:
            strip = super()._render_line(y, x1, x2, base_style)
        else:
            at_row, strip = drawn
            if at_row == row_index:
                return strip
            strip = Strip(_stamped(strip, Style.from_meta({"row": row_index})), strip.cell_length)
        self._drawn[key] = (row_index, strip)
        return strip

    @property
    def rich_style(self) -> Style:
        return self._pass_style if self._pass_style is not None else super().rich_style

    @property
    def background_colors(self) -> tuple[Color, Color]:
        return self._pass_backgrounds if self._pass_backgrounds is not None else super().background_colors

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        """Textual recomputes a row's zebra style from the CSS for every line drawn; it is the same
        for every even (odd) row within one pass."""
        memo = self._row_styles
        if memo is None or row_index < max(self.fixed_rows, 0):
            return super()._get_row_style(row_index, base_style)
        key = (row_index % 2, base_style)
        style = memo.get(key)
        if style is None:
            style = memo[key] = super()._get_row_style(row_index, base_style)
        return style

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> Any:
        """DataTable keys its cell cache on a counter that every change anywhere bumps, so one
        event repaints every visible cell. Here a cell is repainted only when its own row changed:
        the paint is kept by row key and version, not by position, so rows that move (a new job
        on top of a newest-first list) are not repainted; only the row and column numbers that
        the segments carry for the mouse are stamped anew."""
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows or column_index < self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        hover = hover and self.show_cursor and self._show_hover_cursor  # else DataTable ignores it
        row_key = self._row_locations.get_key(row_index)
        key = (row_key, self._row_versions.get(row_key, 0) if row_key is not None else 0,
               self._column_locations.get_key(column_index), width, base_style, cursor, hover,
               self._show_hover_cursor, self.show_cursor, self._pseudo_class_state, self.app.theme)
        painted = self._painted.get(key)
        if painted is None:
            lines = self._paint_plain(row_index, column_index, row_key, base_style, width, cursor, hover)
            if lines is None:
                lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._painted[key] = (row_index, column_index, lines)
            return lines
        at_row, at_column, lines = painted
        if (at_row, at_column) != (row_index, column_index):
            position = Style.from_meta({"row": row_index, "column": column_index})
            lines = [_stamped(line, position) for line in lines]
            self._painted[key] = (row_index, column_index, lines)
        return lines

    def _paint_plain(self, row_index: int, column_index: int, row_key: RowKey | None, base_style: Style,
                     width: int, cursor: bool, hover: bool) -> Any:
        """A one-line plain cell painted directly (tui/widgets/cell_paint.py), as DataTable would."""
        if row_key is None or self.rows[row_key].height != 1:
            return None
        column_key = self._column_locations.get_key(column_index)
        text = self._data[row_key].get(column_key) if column_key is not None else None
        if not isinstance(text, Text):
            return None
        component, post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
        text_style = self.app.console.get_style(text.style) if text.style else None
        return paint_plain(text, text_style, pre, post, width, self.cell_padding)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._touch(RowKey(row_key) if isinstance(row_key, str) else row_key)

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._touch(row_key)
        return row_key

    def clear(self, columns: bool = False) -> Self:
        self._painted.clear()
        self._drawn.clear()
        self._row_versions.clear()
        return super().clear(columns)

    def notify_style_update(self) -> None:
        self._painted.clear()
        self._drawn.clear()
        super().notify_style_update()

    def _touch(self, row_key: RowKey) -> None:
        """A new paint version for the row (unique for the table's life, so a key that comes back
        never meets a cached cell of its earlier content)."""
        self._row_versions[row_key] = next(self._versions)

    # -- internals ---------------------------------------------------------------------------

    def _cells(self, row: Row) -> tuple[Cell, ...]:
        cells = tuple(as_cell(v) for v in row)
        if len(cells) < len(self.column_spec):
            cells += (Cell("-"),) * (len(self.column_spec) - len(cells))
        return cells[: len(self.column_spec)]

    def _matches(self, key: str, row: tuple[Cell, ...]) -> bool:
        if not self.filter_text:
            return True
        return self.filter_text in key.lower() or any(self.filter_text in c.text.lower() for c in row)

    def _shown_cells(self, cells: tuple[Cell, ...]) -> list[Text]:
        return [self._cell_text(cells[self._index[c.key]]) for c in self._visible]

    def _apply(self) -> None:
        if not self._visible:
            return
        wanted = {k: r for k, r in self.source_rows.items() if self._matches(k, r)}
        cursor = self.cursor_key()
        moved = False
        with self.app.batch_update():
            gone = [k for k in self._shown if k not in wanted]
            if gone:
                self._remove_many(gone)
                moved = True
            added = False
            for key, row in wanted.items():
                old = self._shown.get(key)
                if old is None:
                    self.add_row(*self._shown_cells(row), key=key)
                    self._shown[key] = row
                    added = True
                elif old != row:
                    self._update(key, old, row)
                    moved = moved or self._sort_changed(old, row)
            if added or moved:
                self._resort()
            self._restore_cursor(cursor)
        self._layout()

    def _apply_one(self, key: str) -> None:
        if not self._visible:
            return
        row = self.source_rows.get(key)
        old = self._shown.get(key)
        cursor = self.cursor_key()
        if row is None or not self._matches(key, row):
            if old is not None:
                self._remove(key)
                self._restore_cursor(cursor)
            return
        if old is None:
            self.add_row(*self._shown_cells(row), key=key)
            self._shown[key] = row
            self._resort()
            self._restore_cursor(cursor)
        elif old != row:
            self._update(key, old, row)
            if self._sort_changed(old, row):
                self._resort()
                self._restore_cursor(cursor)

    def _sort_changed(self, old: tuple[Cell, ...], row: tuple[Cell, ...]) -> bool:
        if self.sort_by is None:
            return False
        i = self._index[self.sort_by]
        return bool(old[i].sort_value != row[i].sort_value)

    def _update(self, key: str, old: tuple[Cell, ...], row: tuple[Cell, ...]) -> None:
        for col in self._visible:
            i = self._index[col.key]
            was, now = old[i], row[i]
            if was.text != now.text or was.tone != now.tone:  # a new sort value alone repaints nothing
                self._set_cell(key, col.key, now)
        self._shown[key] = row

    def _set_cell(self, key: str, column: str, cell: Cell) -> None:
        try:
            self.update_cell(key, column, self._cell_text(cell), update_width=False)
        except (CellDoesNotExist, RowDoesNotExist):
            pass

    def _remove(self, key: str) -> None:
        self._shown.pop(key, None)
        self._row_versions.pop(RowKey(key), None)
        try:
            self.remove_row(key)
        except RowDoesNotExist:
            pass

    def _remove_many(self, keys: list[str]) -> None:
        """Remove rows in one pass: DataTable.remove_row renumbers every row per call, so a
        refresh that drops the oldest ten of 1,000 jobs cost ten full renumberings."""
        if len(keys) == 1:
            self._remove(keys[0])
            return
        gone = set()
        for key in keys:
            self._shown.pop(key, None)
            row_key = RowKey(key)
            if row_key not in self._data:
                continue
            gone.add(row_key)
            self._row_versions.pop(row_key, None)
            for column_key in self._data[row_key]:
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
            del self._data[row_key]
        if not gone:
            return
        locations = self._row_locations
        kept = sorted((rk for rk in locations if rk not in gone), key=lambda rk: locations.get(rk) or 0)
        self._row_locations = TwoWayDict({rk: i for i, rk in enumerate(kept)})
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh()  # the dimensions update relayouts when the height changed

    def _keeping_cursor(self, change: Callable[[], None]) -> None:
        cursor = self.cursor_key()
        change()
        self._restore_cursor(cursor)

    def _restore_cursor(self, key: str | None) -> None:
        """Put the cursor back on `key`'s row wherever it moved (no-op when the row is gone)."""
        if key is None or key not in self._shown:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
            # DataTable scrolls after the next frame when rows were added (their height may not
            # count yet): a second repaint. Where the table is already tall enough, scroll now.
            if self._require_update_dimensions:
                _, y, _, height = self._get_row_region(index)
                if y + height <= self.virtual_size.height:
                    self._scroll_cursor_into_view()

    def _resort(self) -> None:
        """Order rows by the sort column, else by `order(key, cells)`; keyed by row key."""
        if self.row_count < 2 or (self.sort_by is None and self.order is None):
            return
        shown = self._shown
        if self.sort_by is not None:
            i = self._index[self.sort_by]
            tiebreak = self.order

            def key(rk: Any) -> Any:
                cells = shown.get(str(rk.value))
                return _sort_key(cells[i] if cells else None)

            ordered = list(self._data)
            if tiebreak is not None:
                ordered.sort(key=lambda rk: tiebreak(str(rk.value), shown.get(str(rk.value), ())))
            ordered.sort(key=key, reverse=self.sort_reverse)
        else:
            order = self.order
            assert order is not None
            ordered = sorted(self._data, key=lambda rk: order(str(rk.value), shown.get(str(rk.value), ())))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        self._update_count += 1
        self.refresh()
