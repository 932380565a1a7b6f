"""uvicorn inside the service's own event loop.

uvicorn normally owns the process: it installs its own SIGINT/SIGTERM handlers and re-raises the
signal once it has stopped. The service handles signals itself (graceful stop, SIGHUP reload), so
:class:`ApiServer` leaves them alone and tells when it listens, and on which address.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) into its parts.

    >>> parse_listen("127.0.0.1:8080"), parse_listen("[::1]:9000"), parse_listen(":8080")
    (('127.0.0.1', 8080), ('::1', 9000), ('0.0.0.0', 8080))
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {listen!r}: expected host:port, e.g. 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"  # an explicit ":port" means every interface
    return host, int(port)


class ApiServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner and reports its bound address."""

    def __init__(self, app: Any, *, host: str, port: int) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                        lifespan="off", server_header=False, timeout_graceful_shutdown=10))
        self.listening = threading.Event()
        self.address: tuple[str, int] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                name = sock.getsockname()
                self.address = (str(name[0]), int(name[1]))
                break
        self.listening.set()
