"""The personal term of the judging step. A profile's utility (one spread of this person's taste = 1) moves the
1-10 score by up to `MAX_POINTS` points per spread, a weight that grows with the evidence: the number of signals
(half at `HALF_AT`) and how well the profile predicted held-out choices (nothing at chance, full at 65 %).

Taste reorders among photos the general judgement put in the same band and never moves one across a band: a
reject (below `stars.reject_below`) stays a reject, a bad photo stays bad, a good one stays good. Within its band
the score moves on a logistic scale, so the order taste sets is kept (no two photos pile up at a band's edge) and
a photo near the edge moves less. With no profile, or one without signals, the score is untouched."""

from __future__ import annotations

import logging
import math
import os
from functools import lru_cache

from keepers.core.taste import store
from keepers.core.taste.features import seen
from keepers.core.types import Finding, Reason

MAX_POINTS = 4.0
HALF_AT = 30  # signals at which the weight is half its most
EDGE = 0.01  # a band's open top: a score rounded to 2 decimals stays below it


def weight(profile: store.Profile) -> float:
    """Points of the 1-10 score per spread of utility: grows with the signals and the held-out agreement."""
    n = profile.trained_on
    if profile.model is None or n == 0:
        return 0.0
    trust = 1.0 if profile.cv is None else min(1.0, max(0.0, (profile.cv - 0.5) / 0.15))
    return MAX_POINTS * n / (n + HALF_AT) * trust


log = logging.getLogger(__name__)
GONE: set[str] = set()  # profile files found missing (said once each, in this process)


def missing(settings) -> str | None:
    """The line that says the settings' taste profile is gone (None: no taste set, or its profile is there)."""
    name = getattr(settings, "taste", None)
    if not name or store.path_of(settings.catalog, name).is_file():
        return None
    return (f"no taste profile {name!r} (the `taste` setting or --taste names it; keepers taste list shows those "
            f"there are, keepers taste import {name} FILE.csv makes it)")


def state(settings) -> dict | None:
    """What the daemon says of its taste in /health: the profile's name, whether it is used, and why not."""
    name = getattr(settings, "taste", None)
    if not name:
        return None
    line = missing(settings)
    return {"profile": name, "in_use": line is None, "note": f"{line}: judging without taste" if line else ""}


def require(settings) -> None:
    """Stop before any work where the settings name a taste profile that is not there (once, not per photo)."""
    from keepers.core.errors import UserError

    line = missing(settings)
    if line:
        raise UserError(line)


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> store.Profile | None:
    return store.read_file(path) if mtime_ns else None


def profile_for(settings) -> store.Profile | None:
    """The settings' taste profile (`--taste`, the `taste` setting), read once per change of its file. A profile
    that is not there (deleted while the daemon runs) is logged once and judged without: the cull commands stop
    before work on it (`require`), the daemon says so in /health."""
    name = getattr(settings, "taste", None)
    if not name:
        return None
    p = store.path_of(settings.catalog, name)
    try:
        mtime = os.stat(p).st_mtime_ns
    except OSError:
        if str(p) not in GONE:
            GONE.add(str(p))
            log.warning("%s: judging without taste", missing(settings))
        return None
    GONE.discard(str(p))  # back again: a later deletion is said again
    return _cached(str(p), mtime)


def bands(settings) -> list[tuple[float, float, bool]]:
    """(low, high, high is open) score bands taste never moves a photo out of."""
    r, thr = settings.stars.reject_below, settings.good_threshold
    cuts = sorted({1.0, min(max(r, 1.0), 10.0), min(max(thr, 1.0), 10.0), 10.0})
    return [(lo, hi, hi < 10.0) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]


def shifted(score: float, points: float, settings) -> float:
    """`score` moved by about `points` within its band, on a logistic scale (monotonic in both)."""
    for lo, hi, open_top in bands(settings):
        if lo <= score < hi or (not open_top and score == hi):
            top = hi - EDGE if open_top else hi
            span = top - lo
            if span <= 0:
                return score
            x = min(1 - 1e-4, max(1e-4, (score - lo) / span))
            z = math.log(x / (1 - x)) + points * 4.0 / span  # near the band's middle: about `points` points
            return round(min(top, max(lo, lo + span / (1 + math.exp(-z)))), 2)
    return score


def personal(findings: list[Finding], score: float, settings) -> tuple[float, Reason | None]:
    """The score with the settings' taste applied, and the reason that says so (None where taste moved nothing)."""
    profile = profile_for(settings)
    if profile is None:
        return score, None
    w = weight(profile)
    photo = seen(findings, score)
    if w == 0.0 or photo is None:
        return score, None
    u = float(profile.model.utility([photo])[0])
    new = shifted(score, w * u, settings)
    moved = round(new - score, 2)
    if abs(moved) < 0.05:
        return score, None
    return new, Reason("taste", f"your taste ({profile.name}): {moved:+.1f}", min(1.0, abs(u) / 3), cost=-moved)
