"""Inline SVG charts: a drift heatmap, line charts with bands, histogram pairs and a timeline.

Drawn on the server as strings so a page or a report works offline with no chart library, and
its size grows with the number of cells drawn, never with rows. Every mark carries a ``<title>``
(the browser's tooltip) with the numbers behind it, and ``data-*`` attributes the tests and the
page's click handler read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from modelwatch.ui.queries import Cell, Event, Point

STATUS_COLOUR = {"alert": "#c62828", "warn": "#ef8f00", "ok": "#2e7d32", "skipped": "#9e9e9e"}
DECISION_GLYPH = {"retrain": "↻", "rollback": "↩", "promote": "▲", "alert_only": "!"}
SEVERITY_COLOUR = {"page": "#c62828", "notify": "#ef8f00", "log": "#607d8b", "info": "#1565c0"}


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def ratio_colour(ratio: float | None) -> str:
    """White at 0, amber at half the alert threshold, deep red at and beyond it."""
    if ratio is None:
        return "#eeeeee"
    r = max(0.0, min(ratio, 2.0))
    if r < 1.0:  # white -> amber
        t = r
        red, green, blue = 255, int(255 - 90 * t), int(255 - 230 * t)
    else:  # amber -> dark red
        t = r - 1.0
        red, green, blue = int(255 - 100 * t), int(165 - 165 * t), int(25 - 25 * t)
    return f"#{red:02x}{green:02x}{max(blue, 0):02x}"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def heatmap(features: Sequence[str], windows: Sequence[datetime], cells: dict[tuple, Cell],
            marks: dict[tuple, str] | None = None, decisions: dict[datetime, str] | None = None,
            *, cell_w: int = 12, cell_h: int = 16, label_w: int = 190) -> str:
    """Feature × window grid, each cell coloured by its value relative to its alert threshold.

    ``marks`` puts a black dot on cells a data-layer finding explains (e.g. silent defaulting);
    ``decisions`` writes the non-healthy decision of a window above its column.
    """
    marks = marks or {}
    decisions = decisions or {}
    top = 46
    width = label_w + cell_w * len(windows) + 10
    height = top + cell_h * len(features) + 24
    out = [f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="drift heatmap">']
    for j, window in enumerate(windows):
        x = label_w + j * cell_w
        if j % 7 == 0:
            out.append(f'<text x="{x}" y="12" class="axis">{window:%m-%d}</text>')
        decision = decisions.get(window)
        if decision:
            out.append(f'<text x="{x + cell_w / 2}" y="{top - 8}" class="decision {_attr(decision)}" '
                       f'data-decision="{_attr(decision)}" text-anchor="middle">'
                       f'{DECISION_GLYPH.get(decision, "?")}<title>{_attr(decision)} on '
                       f'{window:%Y-%m-%d}</title></text>')
    for i, feature in enumerate(features):
        y = top + i * cell_h
        out.append(f'<text x="{label_w - 6}" y="{y + cell_h - 4}" text-anchor="end" '
                   f'class="label">{_attr(feature)}</text>')
        for j, window in enumerate(windows):
            cell = cells.get((feature, window))
            x = label_w + j * cell_w
            colour = ratio_colour(None if cell is None else cell.ratio)
            status = "missing" if cell is None else cell.status
            tip = (f"{feature} {window:%Y-%m-%d}: no value" if cell is None else
                   f"{feature} {window:%Y-%m-%d}: {_fmt(cell.value)} vs threshold "
                   f"{_fmt(cell.threshold)} ({cell.status})")
            mark = marks.get((feature, window))
            if mark:
                tip += f" — data layer: {mark}"
            out.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell_w - 1}" '
                       f'height="{cell_h - 1}" fill="{colour}" data-feature="{_attr(feature)}" '
                       f'data-window="{window.isoformat()}" data-status="{status}">'
                       f'<title>{_attr(tip)}</title></rect>')
            if mark:
                out.append(f'<circle class="mark" cx="{x + (cell_w - 1) / 2}" '
                           f'cy="{y + (cell_h - 1) / 2}" r="2.6" fill="#111" '
                           f'data-mark="{_attr(mark)}"><title>{_attr(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]
    colour: str
    band: bool = True
    dashed: bool = False


def line_chart(series: Sequence[Series], *, title: str, width: int = 760, height: int = 220,
               y_range: tuple[float, float] | None = None,
               x_range: tuple[datetime, datetime] | None = None) -> str:
    """Lines over windows, each with its interval drawn as a band where the rows carry one."""
    values = [v for s in series for p in s.points
              for v in (p.value, p.low if s.band else None, p.high if s.band else None)
              if v is not None]
    times = [p.window_start for s in series for p in s.points]
    chart_id = "chart-" + "".join(ch for ch in title.lower() if ch.isalnum())[:24]
    if not values or not times:
        return (f'<div class="empty" id="{chart_id}">{escape(title)}: no rows stored yet</div>')
    lo, hi = y_range or (min(values), max(values))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    t0, t1 = x_range or (min(times), max(times))
    span = max((t1 - t0).total_seconds(), 1.0)
    left, right, top, bottom = 48, 12, 22, 26

    def x(t: datetime) -> float:
        return left + (width - left - right) * (t - t0).total_seconds() / span

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    out = [f'<svg class="line-chart" id="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" role="img" aria-label="{_attr(title)}">',
           f'<text x="{left}" y="14" class="title">{escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        v = lo + (hi - lo) * frac
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'class="grid"/><text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" '
                   f'class="axis">{v:.3g}</text>')
    out.append(f'<text x="{left}" y="{height - 6}" class="axis">{t0:%Y-%m-%d}</text>'
               f'<text x="{width - right}" y="{height - 6}" text-anchor="end" class="axis">'
               f'{t1:%Y-%m-%d}</text>')
    legend_x = left
    for s in series:
        out.append(f'<text x="{legend_x}" y="{height - 6}" class="legend" fill="{s.colour}" '
                   f'dx="90">{"- - " if s.dashed else "— "}{escape(s.name)}</text>')
        legend_x += 20 + 6 * len(s.name)
    for s in series:
        pts = [p for p in s.points if p.value is not None]
        banded = [p for p in pts if s.band and p.low is not None and p.high is not None]
        if banded:
            upper = " ".join(f"{x(p.window_start):.1f},{y(p.high):.1f}" for p in banded)
            lower = " ".join(f"{x(p.window_start):.1f},{y(p.low):.1f}" for p in reversed(banded))
            out.append(f'<polygon class="band" points="{upper} {lower}" fill="{s.colour}" '
                       f'fill-opacity="0.15" stroke="none"/>')
        if len(pts) > 1:
            path = " ".join(f"{x(p.window_start):.1f},{y(p.value):.1f}" for p in pts)
            dash = ' stroke-dasharray="5,3"' if s.dashed else ""
            out.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" '
                       f'stroke-width="1.8"{dash}/>')
        for p in pts:
            tip = f"{s.name} {p.window_start:%Y-%m-%d}: {_fmt(p.value)}"
            if p.low is not None and p.high is not None:
                tip += f" [{_fmt(p.low)}, {_fmt(p.high)}]"
            if p.coverage is not None:
                tip += f", label coverage {p.coverage:.0%}"
            tip += f" ({p.status})"
            out.append(f'<circle class="point" cx="{x(p.window_start):.1f}" '
                       f'cy="{y(p.value):.1f}" r="2.4" fill="{STATUS_COLOUR.get(p.status, s.colour)}" '
                       f'data-series="{_attr(s.name)}"><title>{_attr(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def histogram_pair(labels: Sequence[str], reference: Sequence[float], current: Sequence[float],
                   *, title: str, width: int = 520, height: int = 200) -> str:
    """Reference vs current shares per bin (or category), side by side."""
    n = len(labels)
    if n == 0:
        return f'<div class="empty">{escape(title)}: no bins</div>'
    left, bottom, top = 40, 40, 22
    top_value = max([*reference, *current, 1e-9])
    slot = (width - left - 10) / n
    bar = max(slot / 2 - 1, 1)
    plot_h = height - top - bottom
    out = [f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="{_attr(title)}">',
           f'<text x="{left}" y="14" class="title">{escape(title)}</text>',
           f'<text x="{width - 10}" y="14" text-anchor="end" class="legend">'
           f'<tspan fill="#78909c">reference</tspan> <tspan fill="#d84315">current</tspan></text>']
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current, strict=True)):
        x0 = left + i * slot
        for k, (share, colour, name) in enumerate(((ref, "#78909c", "reference"),
                                                    (cur, "#d84315", "current"))):
            h = plot_h * share / top_value
            out.append(f'<rect class="bar {name}" x="{x0 + k * bar:.1f}" y="{top + plot_h - h:.1f}" '
                       f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                       f'<title>{_attr(label)}: {name} {share:.1%}</title></rect>')
        if n <= 12 or i % max(n // 10, 1) == 0:
            out.append(f'<text x="{x0 + slot / 2:.1f}" y="{height - bottom + 12}" '
                       f'text-anchor="middle" class="axis">{escape(label[:10])}</text>')
    out.append("</svg>")
    return "".join(out)


def timeline(events: Sequence[Event], start: datetime, end: datetime, *, width: int = 760,
             href: Callable[[Event], str | None] | None = None) -> str:
    """Decisions, registry events and alerts on one time axis, one lane each."""
    lanes = ("decision", "registry", "alert")
    left, right, lane_h = 80, 12, 22
    height = 20 + lane_h * len(lanes) + 20
    span = max((end - start).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        return left + (width - left - right) * min(max((t - start).total_seconds() / span, 0), 1)

    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="timeline">']
    for i, lane in enumerate(lanes):
        y = 20 + i * lane_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" class="label">{lane}s'
                   f'</text><line x1="{left}" x2="{width - right}" y1="{y + 10}" y2="{y + 10}" '
                   'class="grid"/>')
    for event in events:
        y = 20 + lanes.index(event.kind) * lane_h + 10
        colour = SEVERITY_COLOUR.get(event.severity, "#1565c0")
        shape = (f'<rect x="{x(event.at) - 4:.1f}" y="{y - 4}" width="8" height="8" '
                 if event.kind == "registry" else f'<circle cx="{x(event.at):.1f}" cy="{y}" r="4.5" ')
        out.append(f'{shape}class="event {event.kind}" fill="{colour}" '
                   f'data-kind="{event.kind}" data-label="{_attr(event.label)}">'
                   f'<title>{_attr(f"{event.at:%Y-%m-%d %H:%M} {event.label} {event.detail}")}'
                   f'</title></{"rect" if event.kind == "registry" else "circle"}>')
    out.append(f'<text x="{left}" y="{height - 4}" class="axis">{start:%Y-%m-%d}</text>'
               f'<text x="{width - right}" y="{height - 4}" text-anchor="end" class="axis">'
               f'{end:%Y-%m-%d}</text></svg>')
    return "".join(out)
