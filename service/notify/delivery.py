"""What the dispatcher hands to a notifier that wants more than the :class:`Notifier` contract gives.

A notifier with a ``deliver(delivery)`` method receives the alert together with its
:class:`~service.notify.context.AlertContext` (status, chart series, top terms) and ``maybe_sent``:
an earlier attempt of this very notification may have reached the receiver before the process died
or the answer was lost, so the notifier must look for it before sending again (exactly-once posting).
It returns the thread reference, like ``send``, and raises only
:class:`~service.notify.base.DeliveryError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from service.domain import Alert
from service.notify.base import Target
from service.notify.context import AlertContext


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    alert: Alert
    target: Target
    thread_ref: str | None
    context: AlertContext = field(default_factory=AlertContext)
    maybe_sent: bool = False
    key: str = ""
    """The outbox key of the notification (unique; usable as an idempotency key)."""
    sent_at: datetime | None = None
    """When this attempt is made (the dispatcher's clock); ``None``: the alert's own time."""


@runtime_checkable
class ContextNotifier(Protocol):
    name: str

    def deliver(self, delivery: Delivery) -> str | None:
        ...
