"""``crisiswatch run`` (the single process) on a Redis store that refuses its credentials stops at once
with status 2, as the scale-out roles do, instead of serving while every write fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.store.redis import RedisStore
from tests.test_api import START, write_config


def test_a_refused_password_stops_the_service_with_status_2(tmp_path: Path,
                                                              private_redis: Callable[..., int]) -> None:
    port = private_redis("--requirepass", "s3cret")
    store = RedisStore(f"redis://:wrong@127.0.0.1:{port}/0")
    service = Service(load_config(write_config(tmp_path)), clock=SimulatedClock(START), store=store, notifiers={})
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert service.run_forever() == 2
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        store.close()
