"""The cost accounting of the quality head's score: which reason took how many of the points a photo lost.

Every point between 10 and the score goes to a reason or, where no reason explains it, to none (the head's doubt:
core/judge/head.py). What each flaw costs is in core/judge/prices.py; this module only shares the points out.
"""

from __future__ import annotations

import math

from keepers.core.judge.prices import PENALTY
from keepers.core.judge.texts import FAMILY, FLAW_REASONS
from keepers.core.types import Reason


def costs(present: list[tuple[str, Reason]], unseen: list[Reason], head_score: float, overall: float,
          flaws: dict[str, float], lost: float | None = None) -> dict[str, float]:
    """"analyzer/code" -> the points of the 1-10 score each reason took. The score is the head's, lowered by the
    penalties of the flaws it cannot see: those penalties' points go to their reasons; the points the head itself
    took (10 - its score) go, flaw class by flaw class as the head blames them (the "none" class's share to no one),
    to the reasons that name that flaw. A reason the head does not blame and that lowered nothing costs nothing: a
    noisy copy of a photo with a slight backlight is bad for its noise, not for the backlight its clean self had.
    `lost`: the head's own points where intent gave some back (then `head_score` is the raised reading)."""
    out: dict[str, float] = {}

    def add(share: list[tuple[str, Reason]], points: float, weights: list[float]) -> None:
        total = sum(weights)
        for (analyzer, r), w in zip(share, weights if total > 0 else []):
            key = f"{analyzer}/{r.code}"
            out[key] = out.get(key, 0.0) + points * w / total

    if unseen and head_score > overall:
        share = [(a, r) for a, r in present if any(r is u for u in unseen)]
        add(share, head_score - overall, [-math.log(max(1e-3, 1 - PENALTY.get(r.code, 0.2) * r.severity))
                                          for _, r in share])
    for kind, p in flaws.items():
        if kind not in FLAW_REASONS:  # "none"
            continue
        flaw = FAMILY.get(FLAW_REASONS[kind][0], FLAW_REASONS[kind][0])
        share = [(a, r) for a, r in present if FAMILY.get(r.code, r.code) == flaw]
        add(share, (max(0.0, 10.0 - head_score) if lost is None else lost) * p, [max(r.severity, 1e-3) for _, r in share])
    return {k: round(v, 2) for k, v in out.items()}
