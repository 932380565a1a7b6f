"""Where mentions come from: source names, their family (``kind``), web domain and audience size.

Audiences are drawn from log-normal laws whose medians are the typical size of the source family
(a tweet reaches a few hundred followers, a national daily a few million readers).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    name: str
    kind: str
    domain: str
    reach_median: float
    reach_sigma: float = 1.0


_ALL = (
    # social networks
    Source(name="twitter", kind="social", domain="twitter.com", reach_median=350, reach_sigma=1.6),
    Source(name="facebook", kind="social", domain="facebook.com", reach_median=250, reach_sigma=1.3),
    Source(name="instagram", kind="social", domain="instagram.com", reach_median=600, reach_sigma=1.6),
    # news, English
    Source(name="Reuters", kind="news", domain="reuters.com", reach_median=4e6),
    Source(name="Associated Press", kind="news", domain="apnews.com", reach_median=3e6),
    Source(name="Bloomberg", kind="news", domain="bloomberg.com", reach_median=2e6),
    Source(name="CNN", kind="news", domain="cnn.com", reach_median=5e6),
    Source(name="BBC News", kind="news", domain="bbc.co.uk", reach_median=5e6),
    Source(name="The New York Times", kind="news", domain="nytimes.com", reach_median=4e6),
    Source(name="Automotive News", kind="news", domain="autonews.com", reach_median=2e5),
    Source(name="TechCrunch", kind="news", domain="techcrunch.com", reach_median=1e6),
    Source(name="The Verge", kind="news", domain="theverge.com", reach_median=1e6),
    Source(name="Glasgow Evening Times", kind="news", domain="glasgowtimes.co.uk", reach_median=2e5),
    # news, French
    Source(name="Le Monde", kind="news", domain="lemonde.fr", reach_median=3e6),
    Source(name="Le Figaro", kind="news", domain="lefigaro.fr", reach_median=3e6),
    Source(name="Les Echos", kind="news", domain="lesechos.fr", reach_median=1e6),
    Source(name="BFM TV", kind="news", domain="bfmtv.com", reach_median=3e6),
    Source(name="franceinfo", kind="news", domain="francetvinfo.fr", reach_median=3e6),
    Source(name="AFP", kind="news", domain="afp.com", reach_median=2e6),
    Source(name="L'Argus", kind="news", domain="largus.fr", reach_median=4e5),
    Source(name="Caradisiac", kind="news", domain="caradisiac.com", reach_median=6e5),
    Source(name="Auto Plus", kind="news", domain="autoplus.fr", reach_median=3e5),
    Source(name="L'Est Républicain", kind="news", domain="estrepublicain.fr", reach_median=2e5),
    Source(name="L'Union", kind="news", domain="lunion.fr", reach_median=1.5e5),
    # blogs, forums, video, reviews, support
    Source(name="Autoblog", kind="blog", domain="autoblog.com", reach_median=8e4),
    Source(name="Jalopnik", kind="blog", domain="jalopnik.com", reach_median=1.5e5),
    Source(name="Le Blog Auto", kind="blog", domain="leblogauto.com", reach_median=5e4),
    Source(name="PriusChat", kind="forum", domain="priuschat.com", reach_median=3e3),
    Source(name="reddit r/cars", kind="forum", domain="reddit.com", reach_median=5e3),
    Source(name="Forum Auto", kind="forum", domain="forum-auto.caradisiac.com", reach_median=2e3),
    Source(name="Forum Peugeot", kind="forum", domain="forum-peugeot.com", reach_median=1.5e3),
    Source(name="YouTube", kind="video", domain="youtube.com", reach_median=5e3, reach_sigma=1.8),
    Source(name="Trustpilot", kind="review", domain="trustpilot.com", reach_median=500),
    Source(name="Avis Vérifiés", kind="review", domain="avis-verifies.com", reach_median=300),
    Source(name="customer support", kind="support", domain="support.example", reach_median=1),
    # regulators
    Source(name="NHTSA", kind="regulator", domain="nhtsa.gov", reach_median=5e4, reach_sigma=0.3),
    Source(name="US EPA", kind="regulator", domain="epa.gov", reach_median=5e4, reach_sigma=0.3),
    Source(name="Rappel Conso", kind="regulator", domain="rappel.conso.gouv.fr", reach_median=3e4,
           reach_sigma=0.3),
    Source(name="Ministère de la Transition écologique", kind="regulator",
           domain="ecologie.gouv.fr", reach_median=3e4, reach_sigma=0.3),
    Source(name="KBA", kind="regulator", domain="kba.de", reach_median=2e4, reach_sigma=0.3),
    Source(name="Maine Attorney General", kind="regulator", domain="maine.gov", reach_median=1e4,
           reach_sigma=0.3),
)

SOURCES = {s.name: s for s in _ALL}


def slug(text: str, words: int = 7) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain)[:words]) or "post"


def _digits(seed: str, count: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:count]


def url_for(source: Source, *, author: str, at: datetime, text: str, key: str) -> str:
    """A plausible permalink for a mention (generated: the path is not a real page)."""
    d = source.domain
    if source.name == "twitter":
        return f"https://twitter.com/{author}/status/{_digits(key, 18)}"
    if source.name == "facebook":
        return f"https://www.facebook.com/{author}/posts/{_digits(key, 15)}"
    if source.name == "instagram":
        return f"https://www.instagram.com/p/{_digits(key, 11)}/"
    if source.kind == "video":
        return f"https://www.youtube.com/watch?v=v{_digits(key, 10)}"
    if source.kind == "forum":
        return f"https://{d}/threads/{slug(text)}.{_digits(key, 6)}/"
    if source.kind in ("review", "support"):
        return f"https://{d}/reviews/{_digits(key, 12)}"
    return f"https://www.{d}/{at:%Y/%m/%d}/{slug(text)}-{_digits(key, 6)}"


def draw_reach(source: Source, rng: np.random.Generator, *, boost: float = 1.0) -> int:
    return max(1, int(source.reach_median * boost * float(np.exp(rng.normal(0.0, source.reach_sigma)))))


def draw_engagement(source: Source, reach: int, rng: np.random.Generator, *, heat: float = 1.0) -> int:
    """Interactions: a small, heavy-tailed fraction of the reach (hotter topics engage more)."""
    if source.kind in ("support", "regulator"):
        return 0
    rate = 0.004 if source.kind == "news" else 0.02
    return int(reach * rate * heat * float(np.exp(rng.normal(0.0, 1.0))))
