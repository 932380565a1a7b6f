"""Main message status, top terms and buttons (Block Kit golden files); thread replies of actions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from service.domain import AlertState
from service.notify.blocks import (
    ACTION_ACKNOWLEDGE,
    ACTION_RESOLVE,
    ACTION_SNOOZE,
    ACTIONS_BLOCK_ID,
    render_alert,
    render_thread_reply,
)
from service.notify.context import AlertContext
from tests.fakeslack import block_kit_errors
from tests.test_slack_blocks import OPENED, TEAM, check_golden, recall_alert

ACKED = AlertContext(acknowledged_by="alice <!channel>", snoozed_until=OPENED + timedelta(hours=1),
                     action="acknowledged", actor="alice <!channel>",
                     top_terms=("recall", "pedal", "accelerator", "<@U123>", "*rappel*"))


def test_interactive_main_message_matches_golden() -> None:
    payload = render_alert(recall_alert(state=AlertState.UPDATED), TEAM, ACKED, interactive=True)
    check_golden("interactive_acknowledged_snoozed", payload)
    assert block_kit_errors(payload["blocks"]) == []
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert actions["block_id"] == ACTIONS_BLOCK_ID
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (ACTION_ACKNOWLEDGE, "inc-toyota-20100121-1405"), (ACTION_SNOOZE, "inc-toyota-20100121-1405"),
        (ACTION_RESOLVE, "inc-toyota-20100121-1405")]
    assert (ACTION_ACKNOWLEDGE, ACTION_SNOOZE, ACTION_RESOLVE) == (
        "incident_acknowledge", "incident_snooze_1h", "incident_resolve")  # what service/api/slack.py parses
    assert payload["blocks"][-1]["type"] == "context"  # the footer stays last


def test_fresh_incident_buttons_and_resolved_has_none() -> None:
    fresh = render_alert(recall_alert(), TEAM, AlertContext(), interactive=True)
    [actions] = [b for b in fresh["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["text"]["text"] == "Acknowledge" and actions["elements"][0]["style"] == "primary"
    resolved = render_alert(recall_alert(state=AlertState.RESOLVED), TEAM,
                            AlertContext(action="resolved", actor="bob", acknowledged_by="alice"), interactive=True)
    check_golden("interactive_resolved_by_hand", resolved)
    assert not [b for b in resolved["blocks"] if b["type"] == "actions"]
    assert "Resolved by bob" in json.dumps(resolved, ensure_ascii=False)
    plain = render_alert(recall_alert(), TEAM)
    assert plain == render_alert(recall_alert(), TEAM, AlertContext())  # no context: the old message


def test_action_replies() -> None:
    reply = render_thread_reply(replace(recall_alert(state=AlertState.UPDATED), summary="toyota: Acknowledged by "
                                        "<@U1>"), TEAM, ACKED)
    check_golden("reply_acknowledged", reply)
    assert reply["blocks"][0]["text"]["text"].startswith("✋ *Acknowledged* · critical")
    assert "<@U1>" not in json.dumps(reply)
    reminder = render_thread_reply(recall_alert(state=AlertState.UPDATED), TEAM, AlertContext(action="reminder"))
    assert reminder["blocks"][0]["text"]["text"].startswith("⏰ *Reminder*")
