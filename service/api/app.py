"""The Starlette application: every route of the HTTP API, bound to one :class:`Runtime`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service import __version__
from service.api import dashboard
from service.api.ingest import ingest_mentions
from service.api.metrics import CONTENT_TYPE
from service.api.openapi import openapi_document
from service.api.slack import slack_actions

if TYPE_CHECKING:
    from service.api.runtime import Runtime
    from service.scale.http import RoleRuntime


async def healthz(request: Request) -> JSONResponse:
    """Alive: the event loop answers (nothing else is checked)."""
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime | RoleRuntime = request.app.state.runtime
    result = await run_in_threadpool(runtime.readiness)
    return JSONResponse(result, status_code=200 if result["ready"] else 503)


async def metrics(request: Request) -> Response:
    runtime: Runtime | RoleRuntime = request.app.state.runtime
    return Response(await run_in_threadpool(runtime.metrics.render), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())


def create_app(runtime: Runtime) -> Starlette:
    routes = [
        Route("/", dashboard.index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/mentions", ingest_mentions, methods=["POST"]),
        Route("/slack/actions", slack_actions, methods=["POST"]),
        Route("/api/brands", dashboard.api_brands, methods=["GET"]),
        # "{brand:path}": a brand may hold a "/" (pushed mentions name it freely), decoded before routing
        Route("/api/brands/{brand:path}/series", dashboard.api_series, methods=["GET"]),
        Route("/api/incidents", dashboard.api_incidents, methods=["GET"]),
        Route("/api/sources", dashboard.api_sources, methods=["GET"]),
        Mount("/static", StaticFiles(directory=dashboard.STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app


def create_role_app(runtime: RoleRuntime) -> Starlette:
    """The HTTP API of a scale-out role (``crisiswatch run --role scheduler|worker``): health, metrics
    and the ingest API, which queues mentions on the stream (see :mod:`service.scale.http`)."""
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/mentions", ingest_mentions, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
