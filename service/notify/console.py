"""The console notifier: one readable line per alert event on a text stream (the service log).

Text that came from outside (a brand name from the ingest API, a summary quoting it) is cleaned of
control and format characters (:func:`service.notify.escape.clean`): it cannot forge a second line
or send escape codes to the operator's terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from service.domain import Alert
from service.notify.base import Target
from service.notify.escape import clean

ICONS = {"critical": "!!", "warning": "! ", "info": "i "}


def format_alert(alert: Alert) -> str:
    """One line: time, severity, state, brand, type and resemblance, then the summary."""
    return (f"{alert.at:%Y-%m-%d %H:%M}Z {ICONS.get(alert.severity, '  ')} {alert.severity:<8} {alert.state:<9} "
            f"{clean(alert.brand):<12} {clean(alert.crisis_type)} ({alert.resemblance:.0%}) {clean(alert.summary)}")


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        stream = self.stream or sys.stderr
        print(f"[alert -> {clean(target.receiver)}] {format_alert(alert)}", file=stream, flush=True)
        return None
