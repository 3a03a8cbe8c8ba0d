"""Charts drawn on the server as SVG: the burndown and the velocity of a sprint report.

SVG made here needs no script in the page (the Content-Security-Policy allows none
inline, and no chart library has to be shipped and kept up to date), prints, scales
with the viewport, and carries each plotted value in a data attribute, so a test can
compare the drawing with the report it was drawn from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _known(point: dict[str, Any], name: str) -> bool:
    return isinstance(point.get(name), int | float)


def _nice_max(value: float) -> float:
    """A round upper bound for an axis, at least 1."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _event_text(event: Any) -> str:
    """One event of a burndown day in words, whatever fields it carries."""
    if isinstance(event, dict):
        return " ".join(f"{key} {value}" for key, value in event.items() if value is not None)
    return str(event)


def _y_axis(top: float) -> list[str]:
    parts = []
    plot_height = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_height * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    return parts


def _polyline(css_class: str, points: Iterable[tuple[float, float]]) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline class="{css_class}" points="{coords}"/>'


def burndown_svg(series: Sequence[dict[str, Any]], *, title: str = "Burndown") -> Markup:
    """Scope, remaining and ideal remaining points per day, with each day's events marked."""
    if not series:
        return Markup('<p class="empty">No burndown yet: the sprint has no days to show.</p>')
    top = _nice_max(
        max(
            max(
                _number(p.get("scope_points")),
                _number(p.get("remaining_points")),
                _number(p.get("ideal_remaining_points")),
            )
            for p in series
        )
    )
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(series) - 1, 1)

    def x(i: int) -> float:
        return LEFT + step * i

    def y(value: Any) -> float:
        return HEIGHT - BOTTOM - plot_height * _number(value) / top

    parts = [
        f'<svg class="chart burndown" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' aria-labelledby="burndown-title">',
        f'<title id="burndown-title">{escape(title)}</title>',
        *_y_axis(top),
        _polyline("ideal", ((x(i), y(p.get("ideal_remaining_points"))) for i, p in enumerate(series))),
        # Days still to come have no scope or remaining yet: their lines stop at today.
        _polyline(
            "scope", ((x(i), y(p["scope_points"])) for i, p in enumerate(series) if _known(p, "scope_points"))
        ),
        _polyline(
            "remaining",
            ((x(i), y(p["remaining_points"])) for i, p in enumerate(series) if _known(p, "remaining_points")),
        ),
    ]
    label_every = max(1, len(series) // 7)
    for i, point in enumerate(series):
        day = str(point.get("day", ""))
        if i % label_every == 0 or i == len(series) - 1:
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(day[5:])}</text>"
            )
        events = point.get("events") or []
        if events:
            marker_y = HEIGHT - BOTTOM + 26
            described = "; ".join(_event_text(event) for event in events)
            parts.append(
                f'<g class="event" data-day="{escape(day)}" data-events="{len(events)}" tabindex="0">'
                f"<title>{escape(day)}: {escape(described)}</title>"
                f'<path d="M{x(i) - 5:.1f},{marker_y + 8} L{x(i):.1f},{marker_y}'
                f' L{x(i) + 5:.1f},{marker_y + 8} Z"/></g>'
            )
        if not _known(point, "remaining_points"):
            continue
        remaining, scope, ideal = (
            point.get(k) for k in ("remaining_points", "scope_points", "ideal_remaining_points")
        )
        parts.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(remaining):.1f}" r="4" tabindex="0"'
            f' data-day="{escape(day)}" data-remaining="{escape(remaining)}" data-scope="{escape(scope)}"'
            f' data-ideal="{escape(ideal)}">'
            f"<title>{escape(day)}: remaining {escape(remaining)}, scope {escape(scope)},"
            f" ideal {escape(ideal)}</title>"
            "</circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def velocity_svg(workstreams: Sequence[dict[str, Any]]) -> Markup:
    """Completed points of the last closed sprints, one group of bars per workstream, mean dashed."""
    bars = [(w, s) for w in workstreams for s in (w.get("sprints") or [])]
    if not bars:
        return Markup('<p class="empty">No closed sprints to compare yet.</p>')
    top = _nice_max(max(max(_number(s.get("completed_points")) for _, s in bars), 1.0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    gap = 24.0
    slots = len(bars) + gap / 40 * max(len(workstreams) - 1, 0)
    bar_width = min(60.0, plot_width / max(slots, 1) * 0.8)
    parts = [
        f'<svg class="chart velocity" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' aria-labelledby="velocity-title">',
        '<title id="velocity-title">Velocity: completed points of the last closed sprints</title>',
        *_y_axis(top),
    ]
    cursor = LEFT + 8.0
    for index, stream in enumerate(workstreams):
        start = cursor
        # The report lists the newest sprint first; the chart reads left to right in time.
        for sprint in reversed(stream.get("sprints") or []):
            value = _number(sprint.get("completed_points"))
            height = plot_height * value / top
            name = str(sprint.get("name", sprint.get("sprint_id", "")))
            parts.append(
                f'<rect class="bar series-{index % 4}" x="{cursor:.1f}" y="{HEIGHT - BOTTOM - height:.1f}"'
                f' width="{bar_width:.1f}" height="{height:.1f}" tabindex="0"'
                f' data-sprint="{escape(sprint.get("sprint_id"))}"'
                f' data-completed="{escape(sprint.get("completed_points"))}">'
                f"<title>{escape(stream.get('workstream'))} — {escape(name)}:"
                f" {_fmt(value)} points</title></rect>"
                f'<text class="value" x="{cursor + bar_width / 2:.1f}" y="{HEIGHT - BOTTOM - height - 4:.1f}"'
                f' text-anchor="middle">{_fmt(value)}</text>'
            )
            cursor += bar_width * 1.25
        end = cursor - bar_width * 0.25
        mean = stream.get("mean_points")
        if isinstance(mean, int | float):
            my = HEIGHT - BOTTOM - plot_height * mean / top
            parts.append(
                f'<line class="mean series-{index % 4}" x1="{start:.1f}" x2="{end:.1f}"'
                f' y1="{my:.1f}" y2="{my:.1f}">'
                f"<title>mean {_fmt(float(mean))} points</title></line>"
            )
        parts.append(
            f'<text class="axis" x="{(start + end) / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(stream.get('workstream') or stream.get('project') or '')}</text>"
        )
        cursor += gap
    parts.append("</svg>")
    return Markup("".join(parts))
