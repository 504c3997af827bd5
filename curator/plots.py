"""Inline SVG charts for report.html: histograms with thresholds, and grouped bar charts.

Plain SVG strings with no script and no fonts or libraries fetched, so the report opens
offline and anywhere; every label goes through `html.escape`. Bars carry a <title>, which
browsers show as a tooltip with the exact count.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

WIDTH, HEIGHT = 520, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
COLOURS = ("#4c78a8", "#e45756", "#72b7b2", "#f58518", "#54a24b", "#b279a2", "#9d755d")
THRESHOLD_COLOUR = "#222"


def fmt(x: float) -> str:
    """A short number for an axis label: 12, 0.35, 1.2e+05, 3.5k."""
    if x != x:  # NaN
        return "nan"
    if float(x).is_integer() and abs(x) < 10_000:
        return str(int(x))
    if abs(x) >= 10_000:
        for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= div:
                return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _frame(title: str, body: list[str], x_label: str, y_label: str) -> str:
    e = html.escape
    return "\n".join([
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{e(title)}">',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{e(title)}</text>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>',
        *body,
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle">{e(x_label)}</text>',
        f'<text x="12" y="{(TOP + HEIGHT - BOTTOM) / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {(TOP + HEIGHT - BOTTOM) / 2})">{e(y_label)}</text>',
        "</svg>",
    ])


def _y_axis(y_max: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = HEIGHT - BOTTOM - frac * plot_h
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{fmt(frac * y_max)}</text>')
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    x = WIDTH - RIGHT
    for i, name in reversed(list(enumerate(names))):
        x -= 8 + 6 * len(name) + 14
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 14}" y="15" font-size="10">{html.escape(name)}</text>')
    return out


def histogram_svg(
    edges: Sequence[float],
    series: Mapping[str, Sequence[int]],
    title: str,
    thresholds: Sequence[tuple[str, float, str]] = (),
    x_label: str = "",
    y_label: str = "documents",
) -> str:
    """Stacked histogram (`series` name -> count per bin, bins given by `edges`), with each
    threshold (op, limit, rule) drawn as a dashed vertical line; a limit outside the data's
    range is pinned to the nearest edge and labelled "off scale"."""
    e = html.escape
    names = list(series)
    n_bins = len(edges) - 1
    totals = [sum(series[s][i] for s in names) for i in range(n_bins)]
    y_max = max(totals, default=0) or 1
    lo, hi = float(edges[0]), float(edges[-1])
    span = (hi - lo) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / max(n_bins, 1)
    body = _y_axis(y_max) + _legend(names)
    for i in range(n_bins):
        base = 0
        for k, name in enumerate(names):
            c = series[name][i]
            if c <= 0:
                continue
            h = c / y_max * plot_h
            y = HEIGHT - BOTTOM - (base / y_max * plot_h) - h
            body.append(
                f'<rect class="bar" x="{LEFT + i * bar_w:.2f}" y="{y:.2f}" width="{max(bar_w - 1, 0.5):.2f}" '
                f'height="{h:.2f}" fill="{COLOURS[k % len(COLOURS)]}"><title>{e(name)}: {c} in '
                f"[{fmt(edges[i])}, {fmt(edges[i + 1])})</title></rect>"
            )
            base += c
    for frac in (0.0, 0.5, 1.0):
        x = LEFT + frac * plot_w
        body.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle">{fmt(lo + frac * span)}</text>')
    for j, (op, limit, rule) in enumerate(thresholds):
        off = limit < lo or limit > hi
        x = LEFT + (min(max(limit, lo), hi) - lo) / span * plot_w
        label = f"{'min' if op == '>=' else 'max'} {fmt(limit)}{' (off scale)' if off else ''}"
        anchor = "end" if x > LEFT + plot_w * 0.6 else "start"
        dx = -3 if anchor == "end" else 3
        body.append(
            f'<line class="threshold" x1="{x:.2f}" y1="{TOP}" x2="{x:.2f}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{THRESHOLD_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"><title>{e(rule)}: keep {e(op)} {fmt(limit)}</title></line>'
        )
        body.append(
            f'<text x="{x + dx:.2f}" y="{TOP + 12 + 12 * j}" font-size="10" text-anchor="{anchor}">{e(label)}</text>'
        )
    return _frame(title, body, x_label, y_label)


def bar_svg(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    x_label: str = "",
    y_label: str = "",
) -> str:
    """Grouped bars: one group per category, one bar per series."""
    e = html.escape
    names = list(series)
    y_max = max((v for s in names for v in series[s]), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(names), 1)
    body = _y_axis(y_max) + (_legend(names) if len(names) > 1 else [])
    label_every = max(1, math.ceil(len(categories) / 16))
    for i, cat in enumerate(categories):
        x0 = LEFT + i * group_w + group_w * 0.1
        for k, name in enumerate(names):
            v = series[name][i]
            h = v / y_max * plot_h
            body.append(
                f'<rect class="bar" x="{x0 + k * bar_w:.2f}" y="{HEIGHT - BOTTOM - h:.2f}" width="{max(bar_w - 1, 0.5):.2f}" '
                f'height="{h:.2f}" fill="{COLOURS[k % len(COLOURS)]}"><title>{e(str(cat))} {e(name)}: {fmt(v)}</title></rect>'
            )
        if i % label_every == 0:
            body.append(
                f'<text x="{LEFT + (i + 0.5) * group_w:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                f'text-anchor="middle">{e(str(cat)[:14])}</text>'
            )
    return _frame(title, body, x_label, y_label)
