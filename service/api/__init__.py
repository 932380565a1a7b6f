"""HTTP: /healthz, /readyz, /metrics, /v1/mentions, Slack actions, the dashboard and its JSON."""
