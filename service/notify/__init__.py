"""Dispatch: routing, silences, dedup, the outbox and the notifiers (console, Slack, webhook)."""
