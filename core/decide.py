"""Decide: combine analyzers' findings into a 1-10 score, a good/bad verdict with confidence, stars, and the
reasons ranked by how many points each cost.

The score is a weighted geometric mean of the findings' scores: one severe flaw (a score near 0) pulls the photo
down however good the rest is, which is how a photographer culls. Each finding's share of the lost points is its
share of the weighted log-loss, split across its reasons by severity. Where the learned quality head gives the
score, it also says what took the points (keepers.core.quality.costs), and the reasons are ranked by that.
"""

from __future__ import annotations

import math

from keepers.core.settings import Settings
from keepers.core.types import Finding, Reason, Verdict

FLOOR = 0.02  # a score of exactly 0 would make the log infinite


def combine(findings: list[Finding]) -> tuple[float, list[tuple[Finding, float]]]:
    """Return the 1-10 score and each scoring finding with its weighted log-loss."""
    scored = [(f, f.weight * -math.log(max(FLOOR, min(1.0, f.score)))) for f in findings
              if f.score is not None and f.weight > 0]
    total_w = sum(f.weight for f, _ in scored)
    if not total_w:
        return 10.0, []
    # normalise by the largest weight, not the sum, so adding a harmless analyzer does not dilute a flaw
    loss = sum(l for _, l in scored) / max(f.weight for f, _ in scored)
    return 1.0 + 9.0 * math.exp(-loss), scored


def decide(findings: list[Finding], settings: Settings) -> Verdict:
    override = next((f for f in findings if f.data.get("overall_score") is not None), None)
    score, scored = combine(findings)
    judged_by = "technical"
    if override is not None:  # a learned quality head speaks for the whole photo
        score, judged_by = float(override.data["overall_score"]), str(override.data.get("judged_by", override.analyzer))
    score = round(min(10.0, max(1.0, score)), 2)

    lost = 10.0 - score
    total_loss = sum(l for _, l in scored) or 1.0
    reasons: list[Reason] = []
    costs = override.data.get("costs") if override is not None else None
    if costs is not None:  # the quality analyzer knows what took its points (keepers.core.quality.costs)
        for f in findings:
            for r in f.reasons:
                same = [x.severity for x in f.reasons if x.code == r.code]
                share = r.severity / sum(same) if sum(same) > 0 else 1 / len(same)
                reasons.append(Reason(r.code, r.message, r.severity, costs.get(f"{f.analyzer}/{r.code}", 0.0) * share))
    else:
        for f, l in scored:
            sev = sum(r.severity for r in f.reasons) or 1.0
            for r in f.reasons:
                reasons.append(Reason(r.code, r.message, r.severity, cost=lost * (l / total_loss) * (r.severity / sev)))
        # reasons from findings that do not score (weight 0) still inform the photographer
        reasons += [Reason(r.code, r.message, r.severity, 0.0) for f in findings
                    if f.score is None or f.weight <= 0 for r in f.reasons]
    reasons.sort(key=lambda r: (-r.cost, -r.severity, r.code))

    thr = settings.good_threshold
    verdict = "good" if score >= thr else "bad"
    # 0.5 at the threshold, ~0.95 two points away from it
    confidence = round(1.0 / (1.0 + math.exp(-1.5 * abs(score - thr))), 3)
    stars = settings.stars.stars(score)
    if stars == -1 and not reasons:  # a reject always says why
        reasons.append(Reason("low_quality", "Low overall technical quality", 1.0, cost=lost))
    keywords = sorted({k for f in findings for k in f.keywords})
    keywords += [f"flaw|{r.code.replace('_', ' ')}" for r in reasons if r.severity >= 0.3 and r.cost >= 0.5]
    return Verdict(score=score, verdict=verdict, confidence=confidence, stars=stars, reasons=reasons,
                   keywords=sorted(set(keywords)), judged_by=judged_by)
