"""Secret shapes masked in log lines even when nobody registered the value."""

from __future__ import annotations

import pytest

from service.logs import MASK, redact

WEBHOOK_SECRET = "AbCdEf0123456789abcdEFGH"


def test_a_slack_webhook_path_without_its_host_is_masked() -> None:
    """http.client quotes only the path of a URL it refuses; the path of a webhook URL is the secret."""
    line = f"InvalidURL: URL can't contain control characters. '/services/T0123ABCD/B0123ABCD/{WEBHOOK_SECRET}\\x07'"
    assert WEBHOOK_SECRET not in redact(line)
    assert "/services/" in redact(line)


@pytest.mark.parametrize("name", ["client_secret", "refresh_token", "id_token", "x-api-key", "private_token",
                                  "signature", "sig", "apiKey"])
def test_credentials_in_a_query_string_are_masked_by_name(name: str) -> None:
    masked = redact(f"GET https://api.example.com/v1/search?q=acme&{name}=Zq9secretvalue&page=2")
    assert "Zq9secretvalue" not in masked
    assert f"{name}={MASK}" in masked and "q=acme" in masked and "page=2" in masked


def test_ordinary_query_parameters_are_kept() -> None:
    line = "GET https://api.example.com/v1/search?q=acme&page_size=20&keyword=recall&monkey=1"
    assert redact(line) == line
