"""A rate over time with real axes (plotext through textual-plotext): absolute scale, time on x.

A gap in the data (no cache reads in a bucket, or before the daemon started) is drawn as a
gap, never as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.color import Color, ColorParseError
from textual_plotext import PlotextPlot

Point = tuple[float, float | None]
"""(seconds before now, value or None)."""

TICKS: dict[int, list[float]] = {60: [-60, -45, -30, -15, 0], 900: [-900, -600, -300, 0],
                                 3600: [-3600, -2700, -1800, -900, 0]}


def tick_label(seconds: float) -> str:
    if seconds == 0:
        return "now"
    seconds = abs(seconds)
    return f"-{seconds / 60:g}m" if seconds >= 120 else f"-{seconds:g}s"


def nice_ceiling(value: float) -> float:
    """1, 2, 5, 10, 20, 50, ... at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


class RateChart(PlotextPlot):
    def __init__(self, *, id: str, percent: bool, colour: str) -> None:
        super().__init__(id=id)
        self.percent = percent
        self.colour = colour
        """A theme variable: the line's colour follows the theme."""
        self.window = 60
        self.points: list[Point] = []

    def show_series(self, window: int, points: Sequence[Point]) -> None:
        self.window = window
        self.points = list(points)
        self.refresh()

    def render(self):  # type: ignore[no-untyped-def]
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        try:
            colour = Color.parse(self.app.theme_variables.get(self.colour, "white")).rgb
        except ColorParseError:
            colour = (255, 255, 255)
        top = 100.0 if self.percent else nice_ceiling(max((v for _, v in self.points if v is not None), default=0))
        for run in _runs(self.points):
            xs = [x for x, _ in run]
            ys = [v for _, v in run]
            if len(run) == 1:
                plt.scatter(xs, ys, marker="dot", color=colour)
            else:
                plt.plot(xs, ys, marker="braille", color=colour)
        plt.xlim(-self.window, 0)
        plt.ylim(0, top)
        ticks = TICKS.get(self.window) or [-self.window, -self.window // 2, 0]
        plt.xticks(ticks, [tick_label(t) for t in ticks])
        ys = [0.0, top / 2, top]
        plt.yticks(ys, [f"{y:g}%" if self.percent else f"{y:g}" for y in ys])
        return super().render()


def _runs(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, value in points:
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((x, value))
    if current:
        runs.append(current)
    return runs
