"""The last hour's throughput and failures as an inline SVG bar chart (no charting library)."""

from __future__ import annotations

from html import escape

from ...app.console_queries import Throughput
from ...ids import fmt_time

WIDTH, HEIGHT, PAD = 600, 140, 24


def svg(data: Throughput) -> str:
    """60 one-minute bars: successes stacked under failures, with the peak and the hour's totals."""
    peak = max([s + f for s, f in zip(data.succeeded, data.failed, strict=True)] + [1])
    bar = (WIDTH - 2 * PAD) / 60
    scale = (HEIGHT - 2 * PAD) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'class="chart" aria-label="Jobs ended per minute, last hour">',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>']
    for minute, (ok, bad) in enumerate(zip(data.succeeded, data.failed, strict=True)):
        x = PAD + minute * bar
        h_ok, h_bad = ok * scale, bad * scale
        if ok:
            parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h_ok:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h_ok:.1f}" class="ok"><title>{ok} succeeded</title></rect>')
        if bad:
            parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h_ok - h_bad:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h_bad:.1f}" class="bad"><title>{bad} failed</title></rect>')
    total_ok, total_bad = sum(data.succeeded), sum(data.failed)
    parts += [f'<text x="{PAD}" y="14" class="label">peak {peak}/min · {total_ok} succeeded · '
              f'{total_bad} failed in the last hour</text>',
              f'<text x="{PAD}" y="{HEIGHT - 6}" class="label">{escape(fmt_time(data.since))}</text>',
              f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" text-anchor="end" class="label">now</text>', "</svg>"]
    return "".join(parts)
