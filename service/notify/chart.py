"""The incident chart: volume bars and negative share over time, the baselines and the anomaly
marked. A pure function from a :class:`~service.notify.context.Series` to PNG bytes (matplotlib,
Agg backend, no global pyplot state: safe in worker threads).
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from service.notify.context import Series

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.6, 100
VOLUME_COLOUR, NEGATIVE_COLOUR, ANOMALY_COLOUR, BASELINE_COLOUR = "#4c78a8", "#d62728", "#f58518", "#7f7f7f"


def render_chart(series: Series, *, title: str = "") -> bytes:
    """A PNG of ``series``: bars of mentions per bucket (left axis), the negative share line (right
    axis), dashed baselines (expected volume, usual negative share) and the anomaly span shaded.

    The same series always gives the same bytes (no timestamps in the file)."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    volume_axis = figure.add_subplot(1, 1, 1)
    times = [p.start for p in series.points]
    counts = [p.count for p in series.points]
    shares = [p.negative / p.count if p.count else None for p in series.points]
    width = series.bucket_seconds / 86400 * 0.9  # matplotlib dates are in days
    if times:
        volume_axis.bar(times, counts, width=width, align="edge", color=VOLUME_COLOUR, alpha=0.75,
                        label="mentions")
        volume_axis.axvspan(series.anomaly_start, series.anomaly_end, color=ANOMALY_COLOUR, alpha=0.18,
                            label="anomaly")
    if series.expected_per_bucket > 0:
        volume_axis.axhline(series.expected_per_bucket, color=BASELINE_COLOUR, linestyle="--", linewidth=1,
                            label="expected")
    volume_axis.set_ylabel("mentions per bucket")
    volume_axis.set_xlabel("UTC", fontsize=8)
    volume_axis.set_ylim(bottom=0)
    share_axis = volume_axis.twinx()
    share_axis.plot(times, [s if s is not None else float("nan") for s in shares], color=NEGATIVE_COLOUR,
                    linewidth=1.6, marker=".", markersize=3, label="negative share")
    share_axis.axhline(series.baseline_negative_share, color=NEGATIVE_COLOUR, linestyle=":", linewidth=1,
                       label="usual negative share")
    share_axis.set_ylim(0, 1)
    share_axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    share_axis.set_ylabel("negative share")
    handles = volume_axis.get_legend_handles_labels()
    more = share_axis.get_legend_handles_labels()
    volume_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=7, ncols=3)
    if title:
        volume_axis.set_title(title, fontsize=10)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
