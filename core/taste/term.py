"""The personal term of the judging step. A profile's utility (one spread of this person's taste = 1) moves the
1-10 score by up to `MAX_POINTS` points per spread, a weight that grows with the evidence: the number of signals
(half at `HALF_AT`) and how well the profile predicted held-out choices (nothing at chance, full at 65 %).

The general flaws still cost what they cost; taste reorders among what is sound. A reject (below
`stars.reject_below`) stays a reject, and a photo judged bad for a named flaw (a reason costing points for a flaw:
core/judge/flaws) stays bad: taste never lifts a flawed photo into the keepers. Every other photo from the reject line up (a
keeper, or a photo judged bad on the quality model's general doubt with no flaw named) moves anywhere between the
reject line and 10, so taste can keep a sound photo the general judgement doubted, or drop a keeper this person
would not keep. The score moves on a softsign scale within its band: monotonic, so the order taste sets is kept,
and never flat at a band's edge (a logistic one put strongly moved photos on the same rounded score there, and a
tie decides no pair); photos at the scale's end (10.0) can be moved too (`INSIDE`). With no profile, or one without signals, the score is untouched."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from keepers.core.judge.flaws import named_flaw
from keepers.core.taste import store
from keepers.core.taste.features import seen
from keepers.core.types import Finding, Reason

# chosen by cross-validation on the first halves of taste/flowers and taste/holidays (tools/taste_eval.py,
# docs/eval.md Taste): 16 -> 64 all within a point (0.666-0.673); more only piles photos on a band's edges
MAX_POINTS = 32.0
HALF_AT = 30  # signals at which the weight is half its most
EDGE = 0.01  # a band's open top: a score rounded to 2 decimals stays below it
# The band is squeezed by this share on the softsign scale, so a score at its very edge (10.0, where photos pile up)
# is still one a taste can move: on the bare scale an edge is infinitely far and no taste moves it. Squeezing the
# whole band (not clamping the scores near its edges) keeps the general order and leaves a score as it is where
# the taste says nothing; a clamp had shown every keeper above 9.3 at 9.3, "your taste: -0.7", on a neutral taste
INSIDE = 0.1


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


def band(score: float, sound: bool, settings) -> tuple[float, float, bool]:
    """(low, high, high is open): the scores taste may move this photo between. `sound`: no named flaw costs it
    points."""
    r, thr = min(max(settings.stars.reject_below, 1.0), 10.0), min(max(settings.good_threshold, 1.0), 10.0)
    if score < r:
        return 1.0, r, True
    if score < thr and not sound:
        return r, thr, True
    return r, 10.0, False


def shifted(score: float, points: float, settings, sound: bool = False) -> float:
    """`score` moved by about `points` within its band (`band`), on a softsign scale (monotonic in both)."""
    lo, hi, open_top = band(score, sound, settings)
    top = hi - EDGE if open_top else hi
    span = top - lo
    if span <= 0:
        return score
    squeeze = 1 - INSIDE
    c = (2 * min(1.0, max(0.0, (score - lo) / span)) - 1) * squeeze  # across the band, short of its edges
    z = c / (1 - abs(c)) + points * 2.0 / span  # near the band's middle: about `points` points
    return round(min(top, max(lo, lo + span * (0.5 + 0.5 * z / (1 + abs(z)) / squeeze))), 2)


def personal(findings: list[Finding], score: float, settings, reasons=()) -> tuple[float, Reason | None]:
    """The score with the settings' taste applied, and the reason that says so (None where taste moved nothing).
    `reasons`: the judgement's so far, with what each cost (a named flaw keeps a bad photo bad)."""
    profile = profile_for(settings)
    if profile is None:
        return score, None
    w = weight(profile)
    photo = seen(findings, score)
    if w == 0.0 or photo is None:
        return score, None
    u = float(profile.model.utility([photo])[0])
    new = shifted(score, w * u, settings, sound=not named_flaw(reasons))
    moved = round(new - score, 2)
    if abs(moved) < 0.05:
        return score, None
    return new, Reason("taste", f"your taste ({profile.name}): {moved:+.1f}", min(1.0, abs(u) / 3), cost=-moved)
