"""``crisiswatch run`` (the single process) on a Redis store that refuses its credentials stops at once
with status 2, as the scale-out roles do, instead of serving while every write fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.store.redis import RedisStore
from tests.test_api import START, write_config
from tests.test_logs import restore_logging  # noqa: F401 - the fixture: run_forever sets up logging


def test_a_refused_password_stops_the_service_with_status_2(
        tmp_path: Path, private_redis: Callable[..., int], restore_logging: None) -> None:  # noqa: F811
    port = private_redis("--requirepass", "s3cret")
    store = RedisStore(f"redis://:wrong@127.0.0.1:{port}/0")
    service = Service(load_config(write_config(tmp_path)), clock=SimulatedClock(START), store=store, notifiers={})
    try:
        assert service.run_forever() == 2
    finally:
        store.close()
