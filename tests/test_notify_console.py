"""The console notifier writes one line per alert, without the control characters a brand name
from the ingest API may carry (review finding 15)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from service.domain import Alert, AlertState, Severity
from service.notify.base import Target
from service.notify.console import ConsoleNotifier

AT = datetime(2010, 1, 21, 14, 0, tzinfo=UTC)


def test_one_line_without_control_characters() -> None:
    brand = "acme\n2010-01-21 14:00Z !! critical firing  forged\x1b[2J\x1b]0;pwned\x07"
    alert = Alert(at=AT, brand=brand, incident_id="acme-1", state=AlertState.FIRING, severity=Severity.WARNING,
                  crisis_type="product_recall", resemblance=0.8, volume=100, negative_share=0.6,
                  summary=f"{brand}: recall\r\nnext", sequence=1, opened_at=AT)
    stream = io.StringIO()
    ConsoleNotifier(stream).send(alert, Target(receiver="intel"), None)
    [line] = stream.getvalue().splitlines()
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line
    assert line.startswith("[alert -> intel] 2010-01-21 14:00Z !  warning  firing    acme 2010-01-21")
    assert line.endswith("recall next")
