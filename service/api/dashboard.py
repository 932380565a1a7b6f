"""The dashboard's JSON (``/api/...``) and its page (``/``, assets under ``/static``).

Per brand: volume and negativity over the last 24 h (one point per bucket) or 7 days (one per hour)
with the detector's baseline band (expected count +- two standard deviations of its negative-binomial
model) and the alert markers; incidents with their timelines; source health. The page polls these
endpoints, so it refreshes live. Series math is pure (:func:`series_points`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from service.clock import floor_time
from service.detect.brand import BrandDetector
from service.domain import Bucket, Incident
from service.logs import redact

if TYPE_CHECKING:
    from service.api.runtime import Runtime

STATIC = Path(__file__).resolve().parent / "static"
RANGES = {"24h": (timedelta(hours=24), None), "7d": (timedelta(days=7), timedelta(hours=1))}
BAND_Z = 2.0
ExpectedFn = Callable[[datetime], float]


def series_points(buckets: Sequence[Bucket], *, start: datetime, end: datetime, step: timedelta,
                  bucket: timedelta, expected: ExpectedFn | None, dispersion: float) -> list[dict[str, Any]]:
    """One point per ``step`` in ``[start, end)``: count, negative share, and from the brand's first
    bucket on, the expected count and its band."""
    first = floor_time(buckets[0].start, step) if buckets else end
    counts: dict[datetime, list[int]] = {}
    for b in buckets:
        slot = counts.setdefault(floor_time(b.start, step), [0, 0])
        slot[0] += b.count
        slot[1] += b.negative
    points = []
    per_step = max(1, int(step / bucket))
    at = start
    while at < end:
        count, negative = counts.get(at, [0, 0])
        point: dict[str, Any] = {"t": at.isoformat(), "count": count,
                                 "negative_share": round(negative / count, 4) if count else None}
        if expected is not None and at >= first:
            mus = [expected(at + i * bucket) for i in range(per_step)]
            mu = sum(mus)
            sd = math.sqrt(sum(m + dispersion * m * m for m in mus))
            point.update(expected=round(mu, 3), low=round(max(0.0, mu - BAND_Z * sd), 3),
                         high=round(mu + BAND_Z * sd, 3))
        points.append(point)
        at += step
    return points


def incident_record(incident: Incident, timeline: list[dict[str, Any]], snoozed_until: str | None) -> dict[str, Any]:
    return {"id": incident.id, "brand": incident.brand, "state": str(incident.state),
            "open": incident.is_open, "severity": str(incident.severity),
            "peak_severity": str(incident.peak_severity), "crisis_type": incident.crisis_type,
            "resemblance": round(incident.resemblance, 4), "volume": incident.volume,
            "peak_volume": incident.peak_volume, "negative_share": round(incident.negative_share, 4),
            "expected_volume": round(incident.expected_volume, 2), "opened_at": incident.opened_at.isoformat(),
            "updated_at": incident.updated_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "acknowledged_by": incident.acknowledged_by, "snoozed_until": snoozed_until,
            "explanation": list(incident.explanation), "timeline": timeline}


# -- data (blocking: called in the thread pool) ------------------------------------------------------
def _detector(runtime: Runtime, brand: str) -> BrandDetector | None:
    live = runtime.pipeline.detectors.get(brand)
    if live is not None:
        return live
    state = runtime.store.load_state(f"detector:{brand}")
    return BrandDetector(brand, runtime.config.brand(brand).detection, (), state) if state else None


def brand_series(runtime: Runtime, brand: str, range_name: str) -> dict[str, Any]:
    span, step = RANGES[range_name]
    settings = runtime.config.brand(brand).detection
    step = step or settings.bucket
    now = runtime.clock.now()
    end = floor_time(now, step) + step
    start = end - span
    buckets = runtime.store.buckets(brand, start, end)
    with runtime.pipeline.lock:
        detector = _detector(runtime, brand)
        expected, dispersion, baseline = None, 0.0, None
        if detector is not None and detector.volume.seen:
            volume = detector.volume
            expected, dispersion = volume.expected, volume.disp[0]
            baseline = round(detector.neg_base / detector.total_base, 4)
        points = series_points(buckets, start=start, end=end, step=step, bucket=settings.bucket,
                               expected=expected, dispersion=dispersion)
    markers = []
    for incident in runtime.store.incidents(limit=200):
        if incident.brand != brand:
            continue
        for event in runtime.timeline.read(incident.id) or [{"at": incident.opened_at.isoformat(),
                                                             "state": "firing", "severity": str(incident.severity)}]:
            at = datetime.fromisoformat(event["at"])
            if start <= at < end:
                markers.append({"at": event["at"], "incident_id": incident.id,
                                "state": event.get("state") or event.get("action"),
                                "severity": event.get("severity", str(incident.severity))})
    return {"brand": brand, "range": range_name, "now": now.isoformat(), "start": start.isoformat(),
            "end": end.isoformat(), "step_seconds": int(step.total_seconds()), "baseline_negative_share": baseline,
            "points": points, "markers": sorted(markers, key=lambda m: m["at"])}


def brands_summary(runtime: Runtime) -> list[dict[str, Any]]:
    now = runtime.clock.now()
    config = runtime.config
    names = sorted(set(config.brands) | set(runtime.store.brands()))
    out = []
    for name in names:
        buckets = runtime.store.buckets(name, now - timedelta(hours=24), now + timedelta(minutes=1))
        count = sum(b.count for b in buckets)
        negative = sum(b.negative for b in buckets)
        brand = config.brand(name)
        incident = runtime.store.open_incident(name)
        out.append({"brand": name, "configured": name in config.brands, "team": brand.team, "own": brand.own,
                    "volume_24h": count, "negative_share_24h": round(negative / count, 4) if count else None,
                    "open_incident": incident.id if incident else None,
                    "severity": str(incident.severity) if incident else None})
    return out


def incidents_list(runtime: Runtime, open_only: bool, limit: int) -> list[dict[str, Any]]:
    return [incident_record(i, runtime.timeline.read(i.id), runtime.store.get_ref(f"snooze:{i.id}"))
            for i in runtime.store.incidents(open_only=open_only, limit=limit)]


def sources_health(runtime: Runtime) -> list[dict[str, Any]]:
    now = runtime.clock.now()
    out = []
    for name, health in sorted(runtime.runner.all_health().items()):
        source = runtime.config.sources.get(name)
        status = ("never run" if health.last_attempt is None else
                  "failing" if health.consecutive_failures else "ok")
        out.append({"source": name, "type": source.type if source else None,
                    "enabled": bool(source and source.enabled), "status": status,
                    "last_success": health.last_success.isoformat() if health.last_success else None,
                    "age_seconds": int((now - health.last_success).total_seconds()) if health.last_success else None,
                    "consecutive_failures": health.consecutive_failures,
                    # masked like the logs and the ops alerts: a server's error text may quote a key
                    "last_error": redact(health.last_error) if health.last_error else None,
                    "mentions_per_hour": round(health.mentions_per_hour(now), 2),
                    "mentions_total": health.mentions_total})
    return out


# -- endpoints ---------------------------------------------------------------------------------------
async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def api_brands(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(brands_summary, request.app.state.runtime))


async def api_series(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    range_name = request.query_params.get("range", "24h")
    if range_name not in RANGES:
        return JSONResponse({"error": f"range must be one of {', '.join(RANGES)}"}, status_code=400)
    brand = request.path_params["brand"]
    return JSONResponse(await run_in_threadpool(brand_series, runtime, brand, range_name))


async def api_incidents(request: Request) -> JSONResponse:
    state = request.query_params.get("state", "all")
    if state not in ("open", "all"):
        return JSONResponse({"error": "state must be open or all"}, status_code=400)
    try:
        limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
    except ValueError:
        return JSONResponse({"error": "limit must be an integer"}, status_code=400)
    return JSONResponse(await run_in_threadpool(incidents_list, request.app.state.runtime, state == "open", limit))


async def api_sources(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(sources_health, request.app.state.runtime))
