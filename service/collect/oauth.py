"""OAuth 2 client-credentials grant (RFC 6749 §4.4): an application-only access token, fetched
with the client id and secret, cached until shortly before it expires, fetched again when the API
answers 401 (revoked or expired early).

The secret only ever travels in the ``Authorization: Basic`` header of the token request and the
token only in the ``Authorization`` header of API requests; neither appears in an error message or
a log line (errors name the token URL without its query string).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.collect.base import CollectError, FetchError, ParseError, as_mapping, load_json, number_of
from service.collect.http import Fetcher

MARGIN = timedelta(seconds=60)
"""A token is renewed this long before the expiry the server announced."""
DEFAULT_LIFETIME = timedelta(hours=1)
"""Assumed lifetime when the token answer gives no ``expires_in``."""
LONGEST = timedelta(days=7)
"""A longer announced lifetime is cut to this (and an absurd one cannot overflow)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessToken:
    value: str
    expires_at: datetime

    def __repr__(self) -> str:  # never print the token itself
        return f"AccessToken(value=<secret>, expires_at={self.expires_at.isoformat()})"


class ClientCredentials:
    """Fetches and caches the access token of one client (one per collector; not shared)."""

    def __init__(self, fetcher: Fetcher, *, token_url: str, client_id: str, client_secret: str,
                 what: str) -> None:
        self.fetcher = fetcher
        self.token_url = token_url
        self.what = what
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._token: AccessToken | None = None
        self.fetched = 0
        """Tokens fetched so far (for health and tests)."""

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, what={self.what!r})"

    def token(self, now: datetime) -> str:
        """A valid access token at ``now``: the cached one, or a new one."""
        if self._token is None or now >= self._token.expires_at - MARGIN:
            self._token = self._fetch(now)
        return self._token.value

    def invalidate(self) -> None:
        """Forget the cached token (the API refused it)."""
        self._token = None

    def _fetch(self, now: datetime) -> AccessToken:
        try:
            response = self.fetcher.post_form(self.token_url, form={"grant_type": "client_credentials"},
                                              headers={"Authorization": f"Basic {self._basic}"})
        except FetchError as error:
            hint = "; check client_id and client_secret" if error.status in (400, 401, 403) else ""
            raise FetchError(f"{self.what}: access token not obtained ({error.message}){hint}",
                             retryable=error.retryable, retry_after=error.retry_after, status=error.status) from error
        try:
            answer = as_mapping(load_json(response.content, what=f"{self.what} token answer"))
        except ParseError as error:
            raise CollectError(error.message, retryable=True) from error
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            problem = answer.get("error")
            detail = f" (error {problem[:60]!r})" if isinstance(problem, str) else ""
            raise CollectError(f"{self.what}: the token answer has no access_token{detail}; check client_id and "
                               f"client_secret", retryable=False)
        seconds = number_of(answer.get("expires_in"))
        lifetime = min(timedelta(seconds=min(seconds, LONGEST.total_seconds())), LONGEST) if seconds \
            else DEFAULT_LIFETIME
        self.fetched += 1
        return AccessToken(value=value, expires_at=now + lifetime)
