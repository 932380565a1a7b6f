"""Run a :class:`~service.app.Service` in a background thread with its own event loop.

For tests and for embedding: ``with ServiceThread(service) as running: running.url`` serves until the
block ends, then stops the service gracefully and joins the thread (bounded waits throughout).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.app import Service

START_TIMEOUT = timedelta(seconds=30)
STOP_TIMEOUT = timedelta(seconds=60)


class ServiceThread:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="crisiswatch-service", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.service.serve(handle_signals=False))
        except BaseException as exc:  # reported by start() / stop()
            self.error = exc

    @property
    def url(self) -> str:
        server = self.service.server
        if server is None or server.address is None:
            raise RuntimeError("the service is not listening")
        host, port = server.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> ServiceThread:
        self._thread.start()
        deadline = START_TIMEOUT.total_seconds()
        step = 0.02
        waited = 0.0
        while waited < deadline:
            server = self.service.server
            if server is not None and server.listening.wait(step):
                return self
            if not self._thread.is_alive():
                raise RuntimeError(f"the service did not start: {self.error!r}")
            if server is None:
                threading.Event().wait(step)
            waited += step
        raise TimeoutError("the service did not start listening in time")

    def stop(self) -> None:
        self.service.request_stop()
        self._thread.join(STOP_TIMEOUT.total_seconds())
        if self._thread.is_alive():
            raise TimeoutError("the service did not stop in time")
        if self.error is not None:
            raise RuntimeError(f"the service failed: {self.error!r}") from self.error

    def __enter__(self) -> ServiceThread:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
