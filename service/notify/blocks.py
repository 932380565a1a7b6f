"""Slack Block Kit rendering of alert events. Pure: an :class:`Alert` in, a message payload out.

``render_alert`` builds the incident's main message (posted once, then updated in place);
``render_thread_reply`` builds the compact reply posted in its thread on each later state. Both return
``{"text": fallback, "blocks": [...]}``, ready for ``chat.postMessage`` / ``chat.update`` / a webhook.

Every piece of text that comes from data (brand, crisis type, summary, explanation, mention texts,
sources, URLs) goes through :mod:`service.notify.escape`; ``mrkdwn`` objects holding such text are
``verbatim`` so Slack does not auto-link channel names or mentions in them. Only
``Target.mention`` (written by the operator) and the links and dates built here are raw mrkdwn.

Slack's limits are respected by construction: at most 50 blocks, 3,000 characters per section text,
2,000 per field, 150 for the header, 4,000 for the fallback text (UTF-16 units, see ``slack_len``).

With an :class:`~service.notify.context.AlertContext`, the main message also shows the incident's
status (acknowledged by, snoozed until, resolved by) and the top terms; with ``interactive=True``
(bot mode) it ends with an ``actions`` block (``block_id`` ``crisiswatch_actions``) of three buttons,
which Slack posts to the interactivity URL (``POST /slack/actions``) as a ``block_actions`` payload:

=======================  ===================  ==========================================
``action_id``            button               ``value``
=======================  ===================  ==========================================
``incident_acknowledge``  Acknowledge          the incident id (e.g. ``toyota-20100121T1905Z``)
``incident_snooze_1h``    Snooze 1 h           the incident id
``incident_resolve``      Resolve (confirmed)  the incident id
=======================  ===================  ==========================================

A resolved incident's message has no buttons.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.domain import Alert, AlertState, Exemplar, Severity
from service.notify.base import Target
from service.notify.context import AlertContext
from service.notify.escape import escape_mrkdwn, escape_plain, link_host, link_url, truncate

ACTION_ACKNOWLEDGE = "incident_acknowledge"
ACTION_SNOOZE = "incident_snooze_1h"
ACTION_RESOLVE = "incident_resolve"
ACTIONS_BLOCK_ID = "crisiswatch_actions"
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 4000
MAX_CONTEXT_ELEMENTS = 10
MAX_MENTIONS_SHOWN = 5
MENTION_TEXT_LIMIT = 500
EXPLANATION_LINES = 8
EXPLANATION_LINE_LIMIT = 300

Block = dict[str, Any]

_SEVERITY_EMOJI = {Severity.INFO: "🔵", Severity.WARNING: "🟠", Severity.CRITICAL: "🔴"}
_RESOLVED_EMOJI = "✅"
_ACTION_LEADS = {"acknowledged": ("✋", "Acknowledged"), "snoozed": ("💤", "Snoozed"),
                 "resolved": (_RESOLVED_EMOJI, "Resolved by hand"), "reminder": ("⏰", "Reminder")}
_STATE_WORDS = {
    AlertState.FIRING: "new incident",
    AlertState.ESCALATED: "escalated",
    AlertState.UPDATED: "update",
    AlertState.RESOLVED: "resolved",
}


def render_alert(alert: Alert, target: Target, context: AlertContext | None = None, *,
                 interactive: bool = False) -> dict[str, Any]:
    """The incident's main message for ``alert`` as delivered to ``target`` (with the status and top
    terms of ``context`` when given, and the action buttons when ``interactive``)."""
    extra = [*_status(alert, context), *_terms(context)]
    if alert.state is AlertState.RESOLVED:
        blocks = [_header(alert), *_resolved_body(alert), *extra, _footer(alert, target)]
    else:
        blocks = [
            _header(alert),
            _section(_with_mention(_summary(alert), alert, target)),
            _figures(alert),
            *_explanation(alert),
            *extra,
            *_mentions(alert.top_mentions),
            *(_buttons(alert, context) if interactive else []),
            _footer(alert, target),
        ]
    return {"text": fallback_text(alert, target), "blocks": _cap(blocks)}


def _status(alert: Alert, context: AlertContext | None) -> list[Block]:
    if context is None:
        return []
    parts = []
    if context.action == "resolved" and context.actor:
        parts.append(f"✅ Resolved by {escape_mrkdwn(context.actor, 80)}")
    if context.acknowledged_by:
        parts.append(f"✋ Acknowledged by {escape_mrkdwn(context.acknowledged_by, 80)}")
    if context.snoozed_until is not None and alert.state is not AlertState.RESOLVED:
        parts.append(f"💤 Snoozed until {_date(context.snoozed_until)}")
    return [_context([" · ".join(parts)])] if parts else []


def _terms(context: AlertContext | None) -> list[Block]:
    terms = [escape_mrkdwn(term, 40) for term in (context.top_terms if context else ()) if term.strip()]
    return [_context(["*Top terms* " + " · ".join(terms)])] if terms else []


def _buttons(alert: Alert, context: AlertContext | None) -> list[Block]:
    acknowledged = bool(context and context.acknowledged_by)
    snoozed = bool(context and context.snoozed_until)
    value = alert.incident_id[:2000]
    acknowledge: Block = {"type": "button", "action_id": ACTION_ACKNOWLEDGE, "value": value,
                          "text": {"type": "plain_text", "text": "Acknowledged ✓" if acknowledged else "Acknowledge"}}
    if not acknowledged:
        acknowledge["style"] = "primary"
    snooze: Block = {"type": "button", "action_id": ACTION_SNOOZE, "value": value,
                     "text": {"type": "plain_text", "text": "Snooze 1 h more" if snoozed else "Snooze 1 h"}}
    resolve: Block = {
        "type": "button", "action_id": ACTION_RESOLVE, "value": value, "style": "danger",
        "text": {"type": "plain_text", "text": "Resolve"},
        "confirm": {"title": {"type": "plain_text", "text": "Resolve this incident?"},
                    "text": {"type": "plain_text", "text": "A new spike will open a new incident."},
                    "confirm": {"type": "plain_text", "text": "Resolve"},
                    "deny": {"type": "plain_text", "text": "Cancel"}},
    }
    return [{"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": [acknowledge, snooze, resolve]}]


def render_thread_reply(alert: Alert, target: Target | None = None,
                        context: AlertContext | None = None) -> dict[str, Any]:
    """A compact update for the incident's thread: state, figures and summary in one section.

    ``target.mention`` is prepended when the alert escalates to critical (the edited main message
    notifies nobody, the reply does). A person's action or a reminder (``context.action``) leads
    with what happened.
    """
    emoji = _RESOLVED_EMOJI if alert.state is AlertState.RESOLVED else _SEVERITY_EMOJI[alert.severity]
    action = context.action if context else None
    if action in _ACTION_LEADS:
        emoji, word = _ACTION_LEADS[action]
        lead = f"{emoji} *{word}* · {alert.severity}"
    elif alert.state is AlertState.RESOLVED:
        lead = f"{emoji} *Resolved*{_duration_suffix(alert)}"
    else:
        lead = f"{emoji} *{_STATE_WORDS[alert.state].capitalize()}* · {alert.severity}"
    figures = f"{_volume_text(alert)} · negative share {_share_text(alert)}"
    text = f"{lead} · {figures}\n{_summary(alert)}"
    blocks = [
        _section(_with_mention(text, alert, target)),
        _context([f"{_date(alert.at)} · incident {escape_mrkdwn(alert.incident_id, 100)}"]),
    ]
    state = "resolved" if alert.state is AlertState.RESOLVED else f"{alert.severity} {_STATE_WORDS[alert.state]}"
    fallback = f"{emoji} {escape_mrkdwn(alert.brand, 100)}: {state} — {_summary(alert)}"
    return {"text": truncate(_with_mention(fallback, alert, target), MAX_FALLBACK_TEXT), "blocks": blocks}


def fallback_text(alert: Alert, target: Target) -> str:
    """The notification / screen-reader text of the main message (mrkdwn, <= 4,000 units)."""
    brand = escape_mrkdwn(alert.brand, 100)
    if alert.state is AlertState.RESOLVED:
        head = f"{_RESOLVED_EMOJI} {brand}: incident resolved{_duration_suffix(alert)}"
    else:
        head = f"{_SEVERITY_EMOJI[alert.severity]} {brand}: {alert.severity} {_STATE_WORDS[alert.state]}"
    text = f"{_with_mention(head, alert, target)} — {_summary(alert)}"
    return truncate(text, MAX_FALLBACK_TEXT)


def _summary(alert: Alert) -> str:
    """The escaped summary, or a stand-in when it is blank (Slack rejects empty texts)."""
    summary = escape_mrkdwn(alert.summary, MAX_SECTION_TEXT)
    return summary or f"{escape_mrkdwn(alert.brand, 100) or 'unnamed brand'}: {alert.severity} alert ({alert.state})"


def _header(alert: Alert) -> Block:
    brand = escape_plain(alert.brand, 80)
    if alert.state is AlertState.RESOLVED:
        text = f"{_RESOLVED_EMOJI} {brand} — resolved"
    else:
        text = f"{_SEVERITY_EMOJI[alert.severity]} {brand} — {alert.severity.upper()} · {_STATE_WORDS[alert.state]}"
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_TEXT), "emoji": True}}


def _figures(alert: Alert) -> Block:
    fields = [
        f"*Crisis type*\n{_crisis_text(alert)}",
        f"*Volume*\n{_volume_text(alert)}",
        f"*Negative share*\n{_share_text(alert)}",
        f"*Opened*\n{_date(alert.opened_at or alert.at)}",
    ]
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": truncate(field, MAX_FIELD_TEXT), "verbatim": True} for field in fields],
    }


def _explanation(alert: Alert) -> list[Block]:
    lines = [line for line in alert.explanation if line.strip()]
    if not lines:
        return []
    shown = [f"• {escape_mrkdwn(line, EXPLANATION_LINE_LIMIT)}" for line in lines[:EXPLANATION_LINES]]
    if len(lines) > len(shown):
        shown.append(f"… and {len(lines) - len(shown)} more")
    return [_section("*Why*\n" + "\n".join(shown))]


def _mentions(exemplars: tuple[Exemplar, ...]) -> list[Block]:
    if not exemplars:
        return []
    shown = exemplars[:MAX_MENTIONS_SHOWN]
    blocks: list[Block] = [{"type": "divider"}, _section("*Top negative mentions*")]
    blocks += [_section(_mention_text(rank, exemplar)) for rank, exemplar in enumerate(shown, start=1)]
    if len(exemplars) > len(shown):
        blocks.append(_context([f"… and {len(exemplars) - len(shown)} more negative mentions"]))
    return blocks


def _mention_text(rank: int, exemplar: Exemplar) -> str:
    details = [f"_{escape_mrkdwn(exemplar.kind, 40)}_" if exemplar.kind else "_unknown source kind_"]
    if exemplar.source:
        details.append(escape_mrkdwn(exemplar.source, 80))
    url, host = link_url(exemplar.url), link_host(exemplar.url)
    if url and host:
        details.append(f"<{url}|{escape_mrkdwn(host, 80)}>")
    details.append(f"{_percent(exemplar.negativity)} negative")
    details.append(_date(exemplar.published_at))
    quote = escape_mrkdwn(exemplar.text, MENTION_TEXT_LIMIT)
    return f"{rank}. “{quote}”\n{' · '.join(details)}"


def _crisis_text(alert: Alert) -> str:
    if alert.crisis_type.strip().lower() in ("", "none"):
        return "no known crisis pattern"
    crisis = escape_mrkdwn(alert.crisis_type.replace("_", " "), 200)
    return f"{crisis} · {_percent(alert.resemblance)} resemblance"


def _resolved_body(alert: Alert) -> list[Block]:
    known = alert.crisis_type.strip().lower() not in ("", "none")
    crisis = f" · {escape_mrkdwn(alert.crisis_type.replace('_', ' '), 200)}" if known else ""
    text = (
        f"*Resolved*{_duration_suffix(alert)}{crisis} · last severity {alert.severity}\n"
        f"Volume {_volume_text(alert)} · negative share {_share_text(alert)}\n"
        f"{_summary(alert)}"
    )
    return [_section(text)]


def _footer(alert: Alert, target: Target) -> Block:
    elements = [f"Incident {escape_mrkdwn(alert.incident_id, 100)} · {_date(alert.at)}"]
    dashboard = link_url(target.dashboard_url)
    if dashboard:
        elements.append(f"<{dashboard}|Open dashboard>")
    return _context(elements)


def _with_mention(text: str, alert: Alert, target: Target | None) -> str:
    pings = alert.severity is Severity.CRITICAL and alert.state in (AlertState.FIRING, AlertState.ESCALATED)
    if target is None or not target.mention or not pings:
        return text
    return f"{target.mention} {text}"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT), "verbatim": True}}


def _context(texts: list[str]) -> Block:
    elements = [
        {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT), "verbatim": True}
        for text in texts[:MAX_CONTEXT_ELEMENTS]
    ]
    return {"type": "context", "elements": elements}


def _cap(blocks: list[Block]) -> list[Block]:
    """At most ``MAX_BLOCKS`` blocks, keeping the footer (a guard: the layout stays far below)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], blocks[-1]]


def _volume_text(alert: Alert) -> str:
    expected = alert.expected_volume
    text = f"{alert.volume:,} mentions vs {expected:,.0f} expected"
    if expected >= 1:
        text += f" (×{alert.volume / expected:.1f})"
    return text


def _share_text(alert: Alert) -> str:
    delta = (alert.negative_share - alert.baseline_negative_share) * 100
    return (
        f"{_percent(alert.negative_share)} vs {_percent(alert.baseline_negative_share)} baseline "
        f"({delta:+.0f} pts)"
    )


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _duration_suffix(alert: Alert) -> str:
    if alert.opened_at is None or alert.at < alert.opened_at:
        return ""
    minutes = int((alert.at - alert.opened_at).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " after " + (" ".join(part for part in parts if part) or "less than a minute")


def _date(instant: datetime) -> str:
    """A Slack date token: shown in each reader's time zone, with a UTC fallback."""
    instant = instant.astimezone(UTC)
    fallback = instant.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(instant.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"

