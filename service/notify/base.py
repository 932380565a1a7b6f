"""The notifier contract: one method that delivers one alert to one target.

Notifiers translate their library's errors into :class:`DeliveryError` at this edge, saying whether
trying again may help and, when the receiver said so (HTTP 429 ``Retry-After``), after how long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from service.domain import Alert

MAX_RETRY_AFTER = 3600.0
"""The longest wait a receiver's ``Retry-After`` can impose (seconds): one hour."""


class DeliveryError(Exception):
    """An alert could not be delivered.

    ``retryable``: rate limits, 5xx answers and network errors are; a revoked token or an unknown
    channel are not (retrying cannot help, the operator must act). ``retry_after``: seconds the
    receiver asked us to wait, when it said so.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after_seconds(retry_after)


def retry_after_seconds(raw: object) -> float | None:
    """A ``Retry-After`` value in seconds: finite, at least 0, at most :data:`MAX_RETRY_AFTER`;
    ``None`` when absent or unreadable (an HTTP date, ``nan``).

    >>> retry_after_seconds("120"), retry_after_seconds("inf"), retry_after_seconds("-5"), retry_after_seconds("x")
    (120.0, 3600.0, 0.0, None)
    """
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(value):
        return None
    return min(max(0.0, value), MAX_RETRY_AFTER)


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """Where one receiver delivers: a team's Slack channel, a webhook URL, the console."""

    receiver: str
    """Name of the team (receiver) in alerts.yaml."""
    channel: str | None = None
    """Slack channel name or id (bot-token mode)."""
    mention: str | None = None
    """Who to ping on critical alerts, e.g. ``<!subteam^S123>``; written by the operator, not escaped."""
    dashboard_url: str | None = None


class Notifier(Protocol):
    """Delivers alert events to one kind of receiver."""

    name: str

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        """Deliver ``alert`` to ``target``.

        ``thread_ref`` is what an earlier ``send`` for the same incident and target returned (for
        Slack, the ``ts`` of the incident's first message), ``None`` for the first alert of an
        incident. Return the reference to store for the next call (or ``None``). Raise
        :class:`DeliveryError` on failure; never raise anything else.
        """
        ...
