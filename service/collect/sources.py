"""Every source type crisiswatch can collect from, with its options (see :mod:`.registry`)."""

from __future__ import annotations

from service.collect.apis import XCollector, YouTubeCollector
from service.collect.bluesky import BlueskyCollector
from service.collect.complaints import NhtsaComplaintsCollector
from service.collect.dropfolder import DropFolderCollector
from service.collect.hackernews import HackerNewsCollector
from service.collect.jsonmap import JsonMappedCollector, check_fields
from service.collect.mastodon import MastodonCollector
from service.collect.reddit import RedditCollector
from service.collect.registry import Option, SourceType, between, http_url, model_years, not_empty, one_of
from service.collect.regulators import NhtsaCollector, OpenFdaCollector, RappelConsoCollector
from service.collect.rss import RssCollector

_URL = Option(kind="str", check=http_url)
_QUERY = Option(kind="str", required=True, check=not_empty)
_TOKEN = Option(kind="str", check=not_empty, secret=True)
_REQUIRED_TOKEN = Option(kind="str", required=True, check=not_empty, secret=True)
_PAGES = Option(kind="int", check=between(1, 10))
_FEED_OPTIONS = {"url": Option(kind="str", required=True, check=http_url)}
_VEHICLE_OPTIONS = {
    "make": Option(kind="str", required=True, check=not_empty),
    "models": Option(kind="str-list", required=True, check=not_empty),
    "model_years": Option(kind="int-list", check=model_years),
    "years_back": Option(kind="int", check=between(0, 10)),
    "url": _URL,
}

SOURCE_TYPES: tuple[SourceType, ...] = (
    SourceType(name="rss", options=_FEED_OPTIONS, build=RssCollector),
    SourceType(name="atom", options=_FEED_OPTIONS, build=RssCollector),
    SourceType(name="nhtsa", build=NhtsaCollector, options=_VEHICLE_OPTIONS),
    SourceType(name="nhtsa_complaints", build=NhtsaComplaintsCollector, options=_VEHICLE_OPTIONS),
    SourceType(name="rappelconso", build=RappelConsoCollector, options={
        "where": Option(kind="str"),
        "limit": Option(kind="int", check=between(1, 100)),
        "url": _URL,
    }),
    SourceType(name="reddit", build=RedditCollector, together=(("client_id", "client_secret"),),
               exclusive=(("token", "client_id"),), options={
        "max_pages": _PAGES, "client_id": Option(kind="str", check=not_empty), "client_secret": _TOKEN,
        "query": _QUERY, "subreddits": Option(kind="str-list"), "token": _TOKEN,
        "limit": Option(kind="int", check=between(1, 100)), "url": _URL,
    }),
    SourceType(name="mastodon", build=MastodonCollector, one_of=(("hashtags", "query"),), options={
        "max_pages": _PAGES,
        "instance": Option(kind="str", required=True, check=http_url), "hashtags": Option(kind="str-list"),
        "query": Option(kind="str", check=not_empty), "token": _TOKEN,
        "limit": Option(kind="int", check=between(1, 40)),
    }),
    SourceType(name="bluesky", build=BlueskyCollector, options={
        "max_pages": _PAGES,
        "query": _QUERY, "token": _TOKEN, "limit": Option(kind="int", check=between(1, 100)), "url": _URL,
    }),
    SourceType(name="hackernews", build=HackerNewsCollector, options={
        "max_pages": _PAGES,
        "query": _QUERY, "tags": Option(kind="str", check=not_empty),
        "limit": Option(kind="int", check=between(1, 1000)), "url": _URL,
    }),
    SourceType(name="json", build=JsonMappedCollector, options={
        "url": Option(kind="str", required=True, check=http_url), "params": Option(kind="mapping"),
        "token": _TOKEN, "items": Option(kind="str"),
        "fields": Option(kind="mapping", required=True, check=check_fields),
        "next": Option(kind="str", check=not_empty), "cursor_param": Option(kind="str", check=not_empty),
        "cursor": Option(kind="str", check=not_empty), "max_pages": Option(kind="int", check=between(1, 20)),
    }),
    SourceType(name="jsonl", build=DropFolderCollector, http=False, options={
        "path": Option(kind="str", required=True, check=not_empty), "pattern": Option(kind="str", check=not_empty),
        "done": Option(kind="str", check=not_empty), "max_files": Option(kind="int", check=between(1, 1000)),
    }),
    SourceType(name="youtube", build=YouTubeCollector, options={
        "max_pages": _PAGES,
        "query": _QUERY, "key": _REQUIRED_TOKEN,
        "region": Option(kind="str", check=not_empty), "limit": Option(kind="int", check=between(1, 50)),
        "url": _URL,
    }),
    SourceType(name="x", build=XCollector, options={
        "max_pages": _PAGES,
        "query": _QUERY, "token": _REQUIRED_TOKEN,
        "limit": Option(kind="int", check=between(10, 100)), "url": _URL,
    }),
    SourceType(name="openfda", build=OpenFdaCollector, options={
        "search": _QUERY, "category": Option(kind="str", check=one_of("food", "drug", "device")),
        "key": _TOKEN, "limit": Option(kind="int", check=between(1, 1000)), "url": _URL,
    }),
)
