"""The judging step: one photo's findings -> its Judgement (score, verdict, confidence, stars, reasons with what
each cost). It runs once per photo, after analysis and before grouping; grouping may then mark a photo pick or
alternate and add a reason, but never judges again. Analyzers measure; only the judging step turns measurements
into a score, so a photo read back from the catalog is judged by the same rules as a freshly analysed one (the
catalog stores measures rounded: 11 of 80 closed-eye face crops came back 0.01 off in a score or a cost, no verdict).

Where the quality analyzer measured the photo (its head's 1-10 reading, its flaw classes, the portrait and
landscape checks' reasons), the score is the head's, lowered by the penalties of the flaws the head cannot see
(closed eyes, a tilted horizon...), and the points go to the reasons that explain them (`costs`). Without it (a
plugin set without the quality analyzer), the score is a weighted geometric mean of the analyzers' scores: one
severe flaw pulls the photo down however good the rest is. A photo that nothing could judge gets no score.

`judge` below reads top-down; the step is split by purpose:
- core/judge/head.py: the score from the quality head (intent's give-backs, the unseen flaws, the doubt reason);
- core/judge/prices.py: what each flaw costs, as data; core/judge/texts.py: the step's own reason texts;
- core/judge/costs.py: which reason took how many points;
- core/judge/moment.py, core/taste/term.py: what lifts a sound photo, and a profile's taste, after the score;
- core/judge/flaws.py: what counts as a named flaw.
"""

from __future__ import annotations

import math

from keepers.core.judge.flaws import is_flaw
from keepers.core.judge.head import QUALITY, by_quality_head
from keepers.core.judge.moment import moment
from keepers.core.settings import Settings
from keepers.core.taste.term import personal
from keepers.core.types import Finding, Judgement, Reason

# The prices, the reason texts and the cost accounting lived here before the step was split: their names stay
# importable from here (tests import judgement.FLAW_REASONS and judgement.PRICE; plugins may import more). A test
# that patches one patches it where it is defined now (tests/test_pricing.py: prices.PRICE)
from keepers.core.judge.costs import costs  # noqa: F401
from keepers.core.judge.prices import (ARTEFACTS, CLASSICAL, CLEAN, EVIDENCE, FACE_LOST_EV, GUESS,  # noqa: F401
                                       MISFIRE, PENALTY, PRICE, SCORER, priced)
from keepers.core.judge.texts import CONFIRMS, DOUBTS, FAMILY, FLAW_REASONS, doubted  # noqa: F401

FLOOR = 0.02  # a finding's score of exactly 0 would make the log infinite
# reasons that say a photo cannot be judged at all (a thumbnail-sized image or preview)
UNJUDGEABLE = ("too_small",)
BLANK = "blank"  # a frame of one flat tone: rejected, for that reason alone


def judge(findings: list[Finding], settings: Settings) -> Judgement:
    """The one judgement of a photo from its analyzers' findings."""
    if any(r.code in UNJUDGEABLE for f in findings for r in f.reasons):
        return unjudged(findings)
    blank = next((r for f in findings for r in f.reasons if r.code == BLANK), None)
    if blank is not None:  # nothing to judge but nothing to keep either: a reject that says why
        return Judgement(score=1.0, verdict="bad", confidence=1.0, stars=settings.stars.stars(1.0),
                         reasons=[Reason(blank.code, blank.message, 1.0, cost=9.0)], keywords=["flaw|blank"],
                         judged_by="blank")
    quality = next((f for f in findings if f.analyzer == QUALITY and "head_score" in f.features), None)
    if quality is not None:
        score, judged_by, reasons = by_quality_head(quality, findings, settings)
    else:
        scored = _technical(findings)
        if scored is None:
            return unjudged(findings)
        score, judged_by, reasons = scored
    score = round(min(10.0, max(1.0, score)), 2)
    score, gained = moment(findings, score, settings, reasons); reasons += gained  # the moment, appeal (core/judge/moment)
    score, taste = personal(findings, score, settings, reasons)  # the profile's term; a named flaw holds (core/taste)
    reasons.sort(key=lambda r: (-r.cost, -r.severity, r.code))

    thr = settings.good_threshold
    verdict = "good" if score >= thr else "bad"
    # 0.5 at the threshold, ~0.95 two points away from it
    confidence = round(1.0 / (1.0 + math.exp(-1.5 * abs(score - thr))), 3)
    stars = settings.stars.stars(score)
    if stars == -1 and not reasons:  # a reject always says why
        reasons.append(Reason("low_quality", "Low overall technical quality", 1.0, cost=10.0 - score))
    reasons += [taste] if taste else []  # last: it took no points, it gave (or took) taste's
    keywords = {k for f in findings for k in f.keywords}
    keywords |= {f"flaw|{r.code.replace('_', ' ')}" for r in reasons if r.severity >= 0.3 and is_flaw(r)}
    return Judgement(score=score, verdict=verdict, confidence=confidence, stars=stars, reasons=reasons,
                     keywords=sorted(keywords), judged_by=judged_by)


def unjudged(findings: list[Finding]) -> Judgement:
    """No analyzer could judge the photo: no score, no stars, and the reason why (an analyzer's `too_small`, where
    one said so)."""
    why = [r for f in findings for r in f.reasons if r.code in UNJUDGEABLE]
    reasons = why or [Reason("unjudged", "No analyzer could judge this photo", 1.0)]
    return Judgement(score=None, verdict=None, confidence=None, stars=None, reasons=reasons,
                     keywords=sorted({k for f in findings for k in f.keywords}), judged_by=None)


def _technical(findings: list[Finding]) -> tuple[float, str, list[Reason]] | None:
    """The weighted geometric mean of the scoring findings, and each reason's share of the points lost."""
    scored = [(f, f.weight * -math.log(max(FLOOR, min(1.0, f.score)))) for f in findings
              if f.score is not None and f.weight > 0]
    if not scored:
        return None
    # normalised by the largest weight, not the sum, so adding a harmless analyzer does not dilute a flaw
    loss = sum(l for _, l in scored) / max(f.weight for f, _ in scored)
    score = round(min(10.0, max(1.0, 1.0 + 9.0 * math.exp(-loss))), 2)
    lost, total_loss = 10.0 - score, sum(l for _, l in scored) or 1.0
    reasons = []
    for f, l in scored:
        sev = sum(r.severity for r in f.reasons) or 1.0
        reasons += [Reason(r.code, r.message, r.severity, cost=lost * (l / total_loss) * (r.severity / sev))
                    for r in f.reasons]
    # reasons from findings that do not score (weight 0) still inform the photographer
    reasons += [Reason(r.code, r.message, r.severity, 0.0) for f in findings
                if f.score is None or f.weight <= 0 for r in f.reasons]
    return score, "technical", reasons
