"""The console's pure parts: the config writer, theme files, the keyed table, the CLI entry."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from tests.conftest import REPO_ROOT
from themes import ThemeFileError, load_themes, resolve_name, theme_fields
from tui import format as fmt
from tui import settings
from tui.widgets.table import LiveTable

pytestmark = pytest.mark.tui


class TestConfigWriter:
    def test_adds_a_dash_table_and_keeps_everything_else(self, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        original = '# my host\n[daemon]\nidle_timeout = 60  # short\n\n[cache]\nstaleness = 5\n'
        config.write_text(original)
        settings.save_theme(config, "swamp-light")
        text = config.read_text()
        assert text.startswith(original)
        parsed = tomllib.loads(text)
        assert parsed == {"daemon": {"idle_timeout": 60}, "cache": {"staleness": 5}, "dash": {"theme": "swamp-light"}}
        assert config.stat().st_mode & 0o777 == 0o600

    def test_replaces_the_key_in_place(self, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text('[dash]\nrefresh = 3\ntheme = "swamp-dark"\n[daemon]\nautostart = false\n')
        settings.save_theme(config, 'odd "name"')
        parsed = tomllib.loads(config.read_text())
        assert parsed == {"dash": {"refresh": 3, "theme": 'odd "name"'}, "daemon": {"autostart": False}}
        assert settings.DashSettings.load(config) == settings.DashSettings(theme='odd "name"', refresh=3.0)

    def test_creates_the_file(self, tmp_path: Path) -> None:
        config = tmp_path / "sub" / "config.toml"
        settings.save_theme(config, "swamp-high-contrast")
        assert tomllib.loads(config.read_text()) == {"dash": {"theme": "swamp-high-contrast"}}

    def test_bad_or_missing_config_gives_defaults(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text("[dash\n")
        assert settings.DashSettings.load(bad) == settings.DashSettings()
        assert settings.DashSettings.load(tmp_path / "none.toml") == settings.DashSettings()
        slow = tmp_path / "slow.toml"
        slow.write_text("[dash]\nrefresh = 0.1\n")
        assert settings.DashSettings.load(slow).refresh == settings.MIN_REFRESH


class TestThemes:
    def test_dark_light_and_high_contrast_ship(self) -> None:
        themes = {t.name: t for t in load_themes()}
        assert {"swamp-dark", "swamp-light", "swamp-high-contrast"} <= set(themes)
        assert themes["swamp-dark"].dark and not themes["swamp-light"].dark
        assert resolve_name("light") == "swamp-light" and resolve_name("swamp-dark") == "swamp-dark"

    def test_unknown_fields_are_refused(self, tmp_path: Path) -> None:
        (tmp_path / "x.toml").write_text('name = "x"\nprimary = "#fff"\nprimray = "#000"\n')
        with pytest.raises(ThemeFileError, match="primray"):
            theme_fields(tmp_path / "x.toml")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingTable([("a", "A"), ("b", "B")], id="t", order=lambda key, row: key)


class CountingTable(LiveTable):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ops: list[tuple[str, Any]] = []

    def update_cell(self, row_key: Any, column_key: Any, value: Any, *, update_width: bool = False) -> None:
        self.ops.append(("update", (str(row_key), str(column_key), str(value))))
        super().update_cell(row_key, column_key, value, update_width=update_width)

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        self.ops.append(("add", kwargs.get("key")))
        return super().add_row(*cells, **kwargs)

    def remove_row(self, row_key: Any) -> None:
        self.ops.append(("remove", str(row_key)))
        super().remove_row(row_key)


@pytest.mark.anyio
async def test_live_table_touches_only_what_changed() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(CountingTable)
        rows = {f"k{i:04d}": (i, "x") for i in range(1000)}
        table.sync(rows)
        assert table.row_count == 1000
        table.ops.clear()
        changed = dict(rows)
        changed["k0500"] = (500, "y")
        del changed["k0007"]
        changed["k9999"] = (9999, "new")
        table.sync(changed)
        assert sorted(table.ops, key=str) == sorted(
            [("update", ("k0500", "b", "y")), ("remove", "k0007"), ("add", "k9999")], key=str)
        assert table.visible_keys()[-1] == "k9999"
        table.ops.clear()
        table.set_filter("new")
        assert table.visible_keys() == ["k9999"]
        table.set_filter("")
        assert table.row_count == 1000
        table.upsert("k0001", (1, "z"))
        assert [str(c) for c in table.get_row("k0001")] == ["1", "z"]
        await pilot.pause()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_swamp_rpc_never_imports_textual(tmp_path: Path) -> None:
    code = ("import sys\nfrom cli.main import main\n"
            "try:\n    main(['rpc', '--list'])\nexcept SystemExit:\n    pass\n"
            "print('textual' in sys.modules, 'tui' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                         env={"SWAMPD_AUTOSTART": "0", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                              "SWAMPD_HOME": str(tmp_path)})
    assert out.stdout.strip().splitlines()[-1] == "False False", out


def test_dash_command_wants_a_terminal(run_cli: Any) -> None:
    result = run_cli("dash")
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr


def test_dash_help_lists_the_options(run_cli: Any) -> None:
    result = run_cli("dash", "--help")
    assert result.returncode == 0
    assert all(opt in result.stdout for opt in ("--read-only", "--theme", "--refresh"))


@pytest.mark.anyio
async def test_a_cell_that_grows_widens_its_column() -> None:
    from textual.widgets.data_table import ColumnKey

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("state", "state")], id="t")

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(LiveTable)
        table.sync({"a": ("a", "running")})
        await pilot.pause()
        table.sync({"a": ("a", "cancelled")})
        await pilot.pause()
        assert table.columns[ColumnKey("state")].width >= len("cancelled")


@pytest.mark.anyio
async def test_the_cursor_stays_on_its_row_as_rows_come_and_go() -> None:
    """Newest first: every insert lands above the cursor; the highlight must follow its key."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("n", "n")], id="t", order=lambda key, row: -int(key))

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(LiveTable)
        rows = {str(i): (str(i), i) for i in range(1, 6)}
        table.sync(rows)
        table.move_cursor(row=2)
        assert table.cursor_key() == "3"
        for new in range(6, 9):  # inserts above the cursor, one by one and in a batch
            rows[str(new)] = (str(new), new)
            table.upsert(str(new), rows[str(new)])
            assert table.cursor_key() == "3"
        rows.update({"9": ("9", 9), "10": ("10", 10)})
        table.sync(rows)
        assert table.cursor_key() == "3" and table.visible_keys()[0] == "10"
        del rows["10"], rows["9"]  # removals above it
        table.sync(rows)
        assert table.cursor_key() == "3"
        table.set_sort("n", reverse=False)  # a new order moves the row, not the cursor's key
        assert table.cursor_key() == "3" and table.visible_keys()[0] == "1"
        table.set_filter("3")
        table.set_filter("")
        assert table.cursor_key() == "3"
        await pilot.pause()


@pytest.mark.anyio
async def test_many_rows_leave_in_one_pass_and_the_rest_keep_order_and_cursor() -> None:
    """A refresh that drops the oldest jobs removes them together (DataTable.remove_row renumbers
    every row on each call); what stays keeps its order, its cells and the cursor."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("n", "n")], id="t", order=lambda key, row: -int(key))

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(LiveTable)
        rows = {str(i): (str(i), i) for i in range(1, 1001)}
        table.sync(rows)
        table.move_cursor(row=table.get_row_index("500"))
        for gone in [*range(1, 11), *range(600, 610)]:
            del rows[str(gone)]
        rows.update({str(i): (str(i), i) for i in range(1001, 1011)})
        table.sync(rows)
        expected = sorted(rows, key=lambda k: -int(k))
        assert table.row_count == len(expected) == 990
        assert table.visible_keys() == expected
        assert [table.get_row_index(k) for k in expected] == list(range(990))
        assert [str(c) for c in table.get_row_at(table.get_row_index("611"))] == ["611", "611"]
        assert table.cursor_key() == "500"
        await pilot.pause()


@pytest.mark.anyio
async def test_a_changed_cell_is_repainted_and_an_unchanged_one_is_not() -> None:
    """Cells are painted once per content of their row: a change elsewhere in the table repaints
    nothing else, a changed row (or a key that leaves and comes back) shows its new content."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("n", "n")], id="t")

    def line(table: LiveTable, key: str) -> str:
        return table.render_line(table.get_row_index(key) + 1).text  # line 0 is the header

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(LiveTable)
        table.sync({"a": ("a", "first"), "b": ("b", "other")})
        await pilot.pause()
        assert "first" in line(table, "a") and "other" in line(table, "b")
        table.upsert("a", ("a", "second"))
        await pilot.pause()
        assert "second" in line(table, "a") and "first" not in line(table, "a")
        table.discard("a")
        await pilot.pause()
        table.upsert("a", ("a", "third"))
        await pilot.pause()
        assert "third" in line(table, "a") and "other" in line(table, "b")
        painted = len(table._painted)
        table.upsert("b", ("b", "again"))  # as wide as before: no column grows
        await pilot.pause()
        assert "again" in line(table, "b") and "third" in line(table, "a")
        assert len(table._painted) - painted <= 2  # only b's two cells were painted again


@pytest.mark.anyio
async def test_rows_moved_down_by_a_new_row_on_top_are_not_repainted_and_point_at_their_new_place() -> None:
    """A newest-first table: new rows move every other row down. Their paint is kept (only the new
    rows' cells are painted; two new rows keep each old row's zebra stripe, whose colour is part
    of its paint), and what is drawn is what DataTable itself paints at the new place, down to
    the row number the mouse reads from each segment."""
    from textual.widgets import DataTable

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("n", "n")], order=lambda key, _cells: -int(key), id="t")

    async with Host().run_test(size=(60, 30)) as pilot:
        table = pilot.app.query_one(LiveTable)
        table.sync({str(i): (str(i), f"row {i}") for i in range(10, 20)})  # as wide as the new rows
        await pilot.pause()
        painted = len(table._painted)
        table.upsert("20", ("20", "row 20"))
        table.upsert("21", ("21", "row 21"))
        await pilot.pause()
        assert table.visible_keys()[:3] == ["21", "20", "19"]
        assert len(table._painted) - painted == 4  # the new rows' cells, nothing else
        for index in (2, 3, 5):
            base = table._get_row_style(index, table.rich_style)
            for column in range(2):
                width = table.ordered_columns[column].get_render_width(table)
                ours = table._render_cell(index, column, base, width)
                theirs = DataTable._render_cell(table, index, column, base, width)
                assert ours == theirs
                assert {seg.style.meta["row"] for line in ours for seg in line if seg.style} == {index}


@pytest.mark.anyio
async def test_lines_of_rows_moved_down_are_not_drawn_again_and_read_as_their_new_row() -> None:
    """DataTable draws every line anew after any change; a kept line is reused when its row only
    moved, and is what DataTable draws at the new place, segment for segment (the row number the
    mouse reads included). A changed row, the cursor's and the mouse's rows are drawn anew."""
    from textual.widgets import DataTable

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("n", "n")], order=lambda key, _cells: -int(key), id="t")

    def drawn_by_datatable(table: LiveTable, y: int) -> Any:
        table._update_count += 1  # past DataTable's own line cache
        return DataTable._render_line(table, y, 0, table.size.width, table.rich_style)

    async with Host().run_test(size=(60, 30)) as pilot:
        table = pilot.app.query_one(LiveTable)
        table.focus()
        table.sync({str(i): (str(i), f"row {i}") for i in range(10, 20)})
        await pilot.pause()
        await pilot.press("down", "down")  # the cursor on "17"
        drawn = len(table._drawn)
        table.upsert("20", ("20", "row 20"))
        table.upsert("21", ("21", "row 21"))
        table.upsert("15", ("15", "ROW 15"))  # as wide as before: no column grows
        await pilot.pause()
        assert table.cursor_key() == "17"
        assert len(table._drawn) - drawn == 3  # the two new rows and the changed one
        for key in ("19", "17", "15", "10"):
            y = table.get_row_index(key) + 1  # line 0 is the header
            ours = table.render_line(y)
            assert list(ours) == list(drawn_by_datatable(table, y)), key
            rows = {seg.style.meta["row"] for seg in ours if seg.style and "row" in seg.style.meta}
            assert rows == {y - 1}, key
        table.upsert("22", ("22", "row 22"))  # one new row: every moved row changes stripe
        await pilot.pause()
        for key in ("19", "17"):
            y = table.get_row_index(key) + 1
            assert list(table.render_line(y)) == list(drawn_by_datatable(table, y)), key
        await pilot.click(LiveTable, offset=(3, table.get_row_index("15") + 1))  # a moved row, clicked
        await pilot.pause()
        assert table.cursor_key() == "15"


@pytest.mark.anyio
async def test_sort_by_any_column_typed_and_sticky() -> None:
    from tui.widgets.table import Cell

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id"), ("took", "duration")], id="t")

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(LiveTable)
        table.focus()
        rows = {"a": ("a", Cell("9.0s", sort=9.0)), "b": ("b", Cell("1m02s", sort=62.0)),
                "c": ("c", Cell("-", sort=None))}
        table.sync(rows)
        await pilot.press("greater_than_sign", "greater_than_sign")  # sort by `duration`, ascending
        assert table.sort_by == "took" and table.visible_keys() == ["c", "a", "b"]
        await pilot.press("I")
        assert table.visible_keys() == ["b", "a", "c"]
        rows["d"] = ("d", Cell("2h00m", sort=7200.0))
        table.sync(rows)  # the choice stays as rows change
        assert table.visible_keys() == ["d", "b", "a", "c"]
        assert "duration ▼" in str(table.columns[next(iter(k for k in table.columns if k.value == "took"))].label)
        await pilot.click(LiveTable, offset=(2, 0))  # a header click sorts by that column
        await pilot.pause()
        assert table.sort_by == "id" and table.visible_keys() == ["a", "b", "c", "d"]


@pytest.mark.anyio
async def test_columns_take_the_width_there_is() -> None:
    from tui.widgets.table import Col

    long = "swamp run web-fleet plan --arg region=eu-west-1 --arg " + "x" * 150

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([Col("id", "id"), Col("cmd", "command", flex=True, min=10),
                             Col("pid", "pid", drop=2), Col("extra", "extra", drop=1)], id="t")

    app = Host()
    async with app.run_test(size=(200, 20)) as pilot:
        table = app.query_one(LiveTable)
        table.sync({"a": ("job1", long, 31337, "something")})
        await pilot.pause()
        wide = table.columns[next(k for k in table.columns if k.value == "cmd")].width
        assert wide > 120 and len(table.columns) == 4  # far more than 40 characters
        await pilot.resize_terminal(36, 20)
        await pilot.pause()
        assert [k.value for k in table.columns] == ["id", "cmd", "extra"]  # the least important went first
        await pilot.resize_terminal(30, 20)
        await pilot.pause()
        assert [k.value for k in table.columns] == ["id", "cmd"]
        narrow = table.columns[next(k for k in table.columns if k.value == "cmd")].width
        assert 10 <= narrow < 30


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "-"), (-3, "0s"), (7.9, "7s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3600, "60m"),
    (3 * 3600 + 120, "3h2m"), (8 * 3600, "8h"), (2 * 86400 + 3600, "2d1h"), (9 * 86400, "9d"),
    (3 * 365 * 86400 + 86400, "3y1d"), (9 * 365 * 86400, "9y")])
def test_ages_print_as_kubectl_prints_them(seconds: float | None, shown: str) -> None:
    assert fmt.age(seconds) == shown


CELL_TEXTS = ["ok", "", "-", "a much longer text than any column here is wide", "x" * 12, "tab\there", "new\nline",
              "café", "日本語", "[/b] not markup", "  spaced  ", "e\u0301"]


@pytest.mark.anyio
@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_a_cell_painted_directly_is_what_datatable_paints(theme: str) -> None:
    """tui/widgets/cell_paint.py builds plain cells' segments itself: the same segments (text,
    style, order) as DataTable's Rich pipeline, for every tone, width, cursor and hover, and the
    cells it does not take (empty, tabs, newlines, wide or combining characters) go that way."""
    from textual.widgets import DataTable

    from tui.widgets.table import Cell, Col

    tones = ["", "ok", "bad", "warn", "active", "muted", "off", "info"]

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([Col("a", "a", max=7), Col("b", "b", flex=True), Col("c", "c", max=3)], id="t")

    async with Host().run_test(size=(50, 40)) as pilot:
        pilot.app.theme = theme
        table = pilot.app.query_one(LiveTable)
        rows = {}
        for i, text in enumerate(CELL_TEXTS * 2):
            tone = tones[i % len(tones)]
            rows[f"r{i}"] = (Cell(text, tone=tone), Cell(text[::-1], tone=tones[(i + 3) % len(tones)]),
                             Cell(text, tone=tone))
        table.sync(rows)
        await pilot.pause()
        direct = 0
        for index in range(table.row_count):
            row_key = table._row_locations.get_key(index)
            base = table._get_row_style(index, table.rich_style)
            for column in range(3):
                width = table.ordered_columns[column].get_render_width(table)
                for cursor in (False, True):
                    for hover in (False, True):
                        table._show_hover_cursor = hover
                        ours = table._paint_plain(index, column, row_key, base, width, cursor, hover)
                        theirs = DataTable._render_cell(table, index, column, base, width, cursor, hover)
                        if ours is not None:
                            direct += 1
                            assert ours == theirs, (index, column, cursor, hover)
        assert direct > table.row_count * 3  # most cells take the direct way


@pytest.mark.anyio
async def test_a_textbox_lays_the_screen_out_only_when_its_size_can_change() -> None:
    """Static.update lays out the whole screen (a full repaint of every table on it): a TextBox
    skips an update that changes nothing, and a fixed-height one never asks for a layout."""
    from rich.text import Text

    from tui.widgets.textbox import TextBox

    class Host(App[None]):
        CSS = "#fixed { height: 1; } #auto { height: auto; }"

        def compose(self) -> ComposeResult:
            yield TextBox("", id="fixed")
            yield TextBox("", id="auto")

    async with Host().run_test() as pilot:
        layouts: list[str] = []
        for box in pilot.app.query(TextBox):
            refresh = box.refresh

            def spy(*args: Any, _box: TextBox = box, _refresh: Any = refresh, **kwargs: Any) -> Any:
                if kwargs.get("layout"):
                    layouts.append(str(_box.id))
                return _refresh(*args, **kwargs)

            box.refresh = spy  # type: ignore[method-assign]
        fixed, auto = pilot.app.query_one("#fixed", TextBox), pilot.app.query_one("#auto", TextBox)
        fixed.update(Text("up 1s"))
        fixed.update(Text("up 2s"))
        auto.update(Text("one line"))
        auto.update(Text("one line"))  # the same: nothing at all
        auto.update(Text("one line", style="bold"))  # not the same: its style changed
        await pilot.pause()
        assert layouts == ["auto", "auto"]
        assert str(fixed.render()) == "up 2s" and auto.content.style == "bold"


@pytest.mark.anyio
async def test_rows_added_above_a_cursor_at_the_bottom_scroll_it_back_into_view_in_the_same_pass() -> None:
    """The cursor keeps its row when rows come on top; when that pushes it off screen the table
    scrolls at once, not after the next frame (a second full repaint per batch)."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id")], order=lambda key, _cells: -int(key), id="t")

    async with Host().run_test(size=(40, 12)) as pilot:
        table = pilot.app.query_one(LiveTable)
        table.sync({str(i): (str(i),) for i in range(100, 200)})
        await pilot.pause()
        table.focus()
        table.move_cursor(row=8)
        await pilot.pause()
        key, scroll = table.cursor_key(), table.scroll_y
        table.merge({str(i): (str(i),) for i in range(200, 205)}, gone=[str(i) for i in range(100, 105)])
        assert table.cursor_key() == key and table.cursor_row == 13
        assert table.scroll_y > scroll  # already, before any frame


@pytest.mark.anyio
async def test_the_key_line_shows_the_focused_keys_and_a_click_presses_one() -> None:
    """tui/widgets/keyline.py draws the shown bindings as one line (Textual's Footer mounts a
    widget per key again on every pane switch); it follows the bindings and a click on a key
    presses it."""
    from textual.binding import Binding

    from tui.widgets.keyline import KeyLine

    class Host(App[None]):
        BINDINGS = [Binding("a", "count", "add one"), Binding("h", "hidden", "not shown", show=False)]

        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def compose(self) -> ComposeResult:
            yield KeyLine()

        def action_count(self) -> None:
            self.count += 1

    async with Host().run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = pilot.app.query_one(KeyLine)
        text = line.render().plain
        assert text.startswith(" a add one ") and "not shown" not in text
        assert text.rstrip().endswith("palette")
        await pilot.click(KeyLine, offset=(1, 0))
        await pilot.click(KeyLine, offset=(30, 0))  # between keys: nothing
        await pilot.pause()
        assert pilot.app.count == 1


@pytest.mark.anyio
async def test_keys_near_the_view_are_the_rows_on_screen_and_a_screenful_either_side() -> None:
    """What the Jobs pane recomputes ages for every few ticks (not all 1,000 rows)."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LiveTable([("id", "id")], order=lambda key, _cells: int(key), id="t")

    async with Host().run_test(size=(40, 12)) as pilot:
        table = pilot.app.query_one(LiveTable)
        table.sync({str(i): (str(i),) for i in range(100)})
        await pilot.pause()
        height = table.size.height
        assert table.keys_near_view() == [str(i) for i in range(2 * height)]
        table.scroll_to(y=50, animate=False, immediate=True)
        await pilot.pause()
        near = table.keys_near_view()
        assert near == [str(i) for i in range(50 - height, 50 + 2 * height)]
        assert "0" not in near and "99" not in near
