"""``crisiswatch replay --report out.html``: a self-contained HTML report of a replay.

One page, no script and nothing fetched: per brand an inline SVG chart of mention volume (bars) and
negative share (line) over the replayed period with the alert events marked, then the alert
timeline. :func:`render_report` is pure; :func:`write_report` writes the file.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from service.clock import floor_time
from service.domain import Alert, Bucket

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 900, 180, 40, 10, 10, 20
MAX_POINTS = 400
STEPS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
         timedelta(days=1))
COLOURS = {"info": "#0e7490", "warning": "#b45309", "critical": "#b91c1c"}

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:1.5rem 2rem;max-width:1100px}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.6rem}.muted{color:#6b7280}
svg{width:100%;height:auto;border:1px solid #e3e6eb;background:#fff}svg text{font-size:10px;fill:#6b7280}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6eb;
font-size:.85rem;vertical-align:top}th{color:#6b7280}.badge{color:#fff;border-radius:3px;padding:0 .4rem;
font-size:.75rem;text-transform:uppercase}
.legend span{display:inline-block;width:12px;height:8px;margin:0 .3rem 0 .8rem}
"""


def report_buckets(store: Any, start: datetime | None, end: datetime | None) -> dict[str, list[Bucket]]:
    """Every brand's buckets in ``[start, end]`` from a store (the replay's in-memory store)."""
    if start is None or end is None:
        return {}
    return {brand: store.buckets(brand, start, end + timedelta(seconds=1)) for brand in store.brands()}


def choose_step(span: timedelta, bucket: timedelta) -> timedelta:
    """The smallest step (at least one bucket) that keeps a chart under :data:`MAX_POINTS` points."""
    for step in STEPS:
        if step >= bucket and span / step <= MAX_POINTS:
            return step
    return STEPS[-1]


def _series(buckets: Sequence[Bucket], start: datetime, end: datetime,
            step: timedelta) -> list[tuple[datetime, int, int]]:
    sums: dict[datetime, list[int]] = {}
    for b in buckets:
        slot = sums.setdefault(floor_time(b.start, step), [0, 0])
        slot[0] += b.count
        slot[1] += b.negative
    out, at = [], floor_time(start, step)
    while at <= end:
        count, negative = sums.get(at, [0, 0])
        out.append((at, count, negative))
        at += step
    return out


def chart_svg(brand: str, buckets: Sequence[Bucket], alerts: Sequence[Alert], start: datetime, end: datetime) -> str:
    """One brand's chart: volume bars, negative-share line (right axis, 0-100 %) and alert markers."""
    width = min((b2.start - b1.start for b1, b2 in pairwise(buckets)),
                default=timedelta(minutes=5))
    step = choose_step(end - start, max(width, timedelta(minutes=5)))
    points = _series(buckets, start, end, step)
    t0, t1 = points[0][0], points[-1][0] + step
    y_max = max([c for _, c, _ in points] + [1])

    def x(at: datetime) -> float:
        return PAD_L + (at - t0) / (t1 - t0) * (W - PAD_L - PAD_R)

    def y(value: float, top: float) -> float:
        return H - PAD_B - value / top * (H - PAD_T - PAD_B)

    bar = (W - PAD_L - PAD_R) / len(points)
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(brand)}: mentions and negativity">']
    for at, count, _ in points:
        if count:
            parts.append(f'<rect x="{x(at):.1f}" y="{y(count, y_max):.1f}" width="{max(bar - 0.4, 0.6):.1f}" '
                         f'height="{H - PAD_B - y(count, y_max):.1f}" fill="#3b6fd8"/>')
    line = " ".join(f"{x(at + step / 2):.1f},{y(neg / count, 1.0):.1f}" for at, count, neg in points if count)
    if line:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#c2410c" stroke-width="1.2"/>')
    for alert in alerts:
        colour = COLOURS.get(str(alert.severity), "#b91c1c")
        parts.append(f'<line x1="{x(alert.at):.1f}" x2="{x(alert.at):.1f}" y1="{PAD_T}" y2="{H - PAD_B}" '
                     f'stroke="{colour}" stroke-width="2"><title>{html.escape(_alert_title(alert))}</title></line>')
    parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{H - PAD_B}" y2="{H - PAD_B}" stroke="#d1d5db"/>')
    parts.append(f'<text x="2" y="{PAD_T + 8}">{y_max}</text><text x="{W - PAD_R}" y="{PAD_T + 8}" '
                 f'text-anchor="end">100% neg.</text>')
    parts.append(f'<text x="{PAD_L}" y="{H - 4}">{t0:%Y-%m-%d %H:%M}</text><text x="{W - PAD_R}" y="{H - 4}" '
                 f'text-anchor="end">{t1:%Y-%m-%d %H:%M} UTC ({_step_name(step)} per bar)</text></svg>')
    return "".join(parts)


def _step_name(step: timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h" if minutes < 1440 else f"{minutes // 1440} d"


def _alert_title(alert: Alert) -> str:
    return f"{alert.at:%Y-%m-%d %H:%M} {alert.state} {alert.severity} {alert.crisis_type}: {alert.summary}"


def _timeline(alerts: Sequence[Alert]) -> str:
    if not alerts:
        return '<p class="muted">No alert during this replay.</p>'
    rows = []
    for a in alerts:
        colour = COLOURS.get(str(a.severity), "#b91c1c")
        rows.append(f"<tr><td>{a.at:%Y-%m-%d %H:%M}</td><td>{html.escape(a.brand)}</td>"
                    f'<td><span class="badge" style="background:{colour}">{a.severity}</span></td>'
                    f"<td>{a.state}</td><td>{html.escape(a.crisis_type)}</td><td>{a.resemblance:.0%}</td>"
                    f"<td>{a.volume}</td><td>{a.negative_share:.0%}</td><td>{html.escape(a.incident_id)}</td>"
                    f"<td>{html.escape(a.summary)}</td></tr>")
    return ("<table><thead><tr><th>at (UTC)</th><th>brand</th><th>severity</th><th>state</th><th>type</th>"
            "<th>resembl.</th><th>volume</th><th>neg.</th><th>incident</th><th>summary</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def render_report(alerts: Sequence[Alert], buckets_by_brand: Mapping[str, Sequence[Bucket]], *, start: datetime,
                  end: datetime, title: str = "crisiswatch replay", summary: str = "") -> str:
    """The whole HTML page. Brands with alerts come first, then the others by volume."""
    by_brand: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_brand.setdefault(alert.brand, []).append(alert)
    volume = {b: sum(x.count for x in buckets) for b, buckets in buckets_by_brand.items()}
    brands = sorted(set(buckets_by_brand) | set(by_brand), key=lambda b: (b not in by_brand, -volume.get(b, 0), b))
    sections = []
    for brand in brands:
        own = by_brand.get(brand, [])
        figures = f"{volume.get(brand, 0)} mentions, {len(own)} alert events"
        sections.append(f"<h2>{html.escape(brand)}</h2><p class=\"muted\">{figures}</p>"
                        + chart_svg(brand, buckets_by_brand.get(brand, ()), own, start, end))
    legend = ('<p class="legend muted"><span style="background:#3b6fd8"></span>mentions'
              '<span style="background:#c2410c;height:2px"></span>negative share'
              + "".join(f'<span style="background:{c};width:3px"></span>{s} alert' for s, c in COLOURS.items())
              + "</p>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"muted\">{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
            f"{' · ' + html.escape(summary) if summary else ''}</p>{legend}"
            f"<h2>Alert timeline</h2>{_timeline(alerts)}{''.join(sections)}</body></html>\n")


def write_report(result: Any, buckets_by_brand: Mapping[str, Sequence[Bucket]], path: str | Path, *,
                 title: str = "crisiswatch replay") -> Path:
    """Write the report of a :class:`~service.replay.ReplayResult` to ``path``; return the path."""
    start = result.started or min((a.at for a in result.alerts), default=None)
    end = result.ended or max((a.at for a in result.alerts), default=None)
    if start is None or end is None:
        raise ValueError("nothing was replayed: no report to write")
    summary = (f"{result.mentions} mentions replayed ({result.duplicates} duplicates, {result.unattributed} "
               f"matched no brand), {len(result.alerts)} alert events")
    target = Path(path)
    target.write_text(render_report(result.alerts, buckets_by_brand, start=start, end=end, title=title,
                                    summary=summary), encoding="utf-8")
    return target
