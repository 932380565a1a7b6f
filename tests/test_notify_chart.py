"""The incident chart: a deterministic PNG built from the series the dispatcher gathers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain import Alert, AlertState, Bucket, Severity
from service.notify.chart import render_chart
from service.notify.context import AlertContext, Series, build_series

T0 = datetime(2010, 1, 21, 19, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def series() -> Series:
    alert = Alert(at=T0 + 6 * FIVE, brand="toyota", incident_id="t-1", state=AlertState.FIRING,
                  severity=Severity.CRITICAL, crisis_type="product_recall", resemblance=0.8, volume=300,
                  negative_share=0.6, summary="s", expected_volume=24.0, baseline_negative_share=0.2, opened_at=T0)
    buckets = [Bucket(brand="toyota", start=T0 + i * FIVE, count=60 if i >= 0 else 4, negative=40 if i >= 0 else 1)
               for i in range(-24, 7) if i != -3]  # one bucket without mentions
    return build_series(alert, buckets, FIVE, timedelta(minutes=30), T0 - 24 * FIVE, T0 + 7 * FIVE)


def test_series_fills_gaps_and_spreads_the_expectation() -> None:
    s = series()
    assert len(s.points) == 31 and s.bucket_seconds == 300
    assert [p.count for p in s.points[20:23]] == [4, 0, 4]  # the empty bucket counts zero
    assert s.expected_per_bucket == 4.0  # 24 expected per 30-minute window = 4 per bucket
    assert s.anomaly_start == T0 and s.anomaly_end == T0 + 7 * FIVE
    assert AlertContext.from_payload({"context": AlertContext(series=s).to_payload()}).series == s


def test_chart_is_a_deterministic_png() -> None:
    png = render_chart(series(), title="toyota: mentions and negative share")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 200_000
    assert render_chart(series(), title="toyota: mentions and negative share") == png
    empty = Series(bucket_seconds=300, points=(), expected_per_bucket=0, baseline_negative_share=0.1,
                   anomaly_start=T0, anomaly_end=T0)
    assert render_chart(empty)[:4] == b"\x89PNG"
