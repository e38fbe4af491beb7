"""A DataTable that is synced by row key: only changed cells are touched (textual#6457)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

Row = tuple[Any, ...]


class LiveTable(DataTable[Any]):
    """Rows live in `self.source_rows` (key -> cells); `sync` diffs them into the table.

    A filter hides rows whose text does not contain it (case-insensitive). New rows are
    inserted in `order` (a sort key over the row key and cells) when one is given.
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        order: Callable[[str, Row], Any] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.column_spec = list(columns)
        self.order = order
        self.source_rows: dict[str, Row] = {}
        self.filter_text = ""
        self._shown: dict[str, Row] = {}

    def on_mount(self) -> None:
        for key, label in self.column_spec:
            self.add_column(label, key=key)

    # -- data --------------------------------------------------------------------------------

    def sync(self, rows: Mapping[str, Row]) -> None:
        """Make the table show `rows` (filtered), touching only what changed."""
        self.source_rows = dict(rows)
        self._apply()

    def upsert(self, key: str, row: Row) -> None:
        self.source_rows[key] = row
        self._apply_one(key)

    def update_fields(self, key: str, **cells: Any) -> None:
        """Change some cells of a known row (an event's delta); unknown rows are ignored."""
        current = self.source_rows.get(key)
        if current is None:
            return
        index = {k: i for i, (k, _) in enumerate(self.column_spec)}
        values = list(current)
        for column, value in cells.items():
            if column in index:
                values[index[column]] = value
        self.source_rows[key] = tuple(values)
        self._apply_one(key)

    def discard(self, key: str) -> None:
        self.source_rows.pop(key, None)
        self._apply_one(key)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._apply()

    def visible_keys(self) -> list[str]:
        return [str(row_key.value) for row_key in self.rows]

    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None

    # -- internals ---------------------------------------------------------------------------

    def _matches(self, key: str, row: Row) -> bool:
        if not self.filter_text:
            return True
        return any(self.filter_text in str(cell).lower() for cell in (key, *row))

    def _wanted(self) -> dict[str, Row]:
        return {k: r for k, r in self.source_rows.items() if self._matches(k, r)}

    def _apply(self) -> None:
        wanted = self._wanted()
        for key in [k for k in self._shown if k not in wanted]:
            self._remove(key)
        added = False
        with self.app.batch_update():
            for key, row in wanted.items():
                old = self._shown.get(key)
                if old is None:
                    self.add_row(*row, key=key)
                    self._shown[key] = row
                    added = True
                elif old != row:
                    self._update(key, old, row)
            if added:
                self._resort()

    def _apply_one(self, key: str) -> None:
        row = self.source_rows.get(key)
        old = self._shown.get(key)
        if row is None or not self._matches(key, row):
            if old is not None:
                self._remove(key)
            return
        if old is None:
            self.add_row(*row, key=key)
            self._shown[key] = row
            self._resort()
        elif old != row:
            self._update(key, old, row)

    def _update(self, key: str, old: Row, row: Row) -> None:
        for (column, _), before, after in zip(self.column_spec, old, row, strict=False):
            if before != after:
                try:
                    # Widen a column only when the new text would not fit ("running" ->
                    # "cancelled"); re-measuring on every update is what costs CPU.
                    wider = len(str(after)) > self.columns[ColumnKey(column)].content_width
                    self.update_cell(key, column, after, update_width=wider)
                except (CellDoesNotExist, RowDoesNotExist):
                    pass
        self._shown[key] = row

    def _remove(self, key: str) -> None:
        self._shown.pop(key, None)
        try:
            self.remove_row(key)
        except RowDoesNotExist:
            pass

    def _resort(self) -> None:
        """Order rows by `order(key, cells)`, as DataTable.sort does but keyed by row key."""
        if self.order is None or self.row_count < 2:
            return
        order = self.order
        shown = self._shown
        ordered = sorted(self._data, key=lambda rk: order(str(rk.value), shown.get(str(rk.value), ())))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        self._update_count += 1
        self.refresh()

