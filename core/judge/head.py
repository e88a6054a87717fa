"""The score where the quality analyzer measured the photo: its head's 1-10 reading, given back where intent explains
it and priced as people price each flaw, lowered by the flaws the head cannot see, with its points shared out over
the reasons that explain them. In the order `by_quality_head` takes them:

1. intent (core/judge/intent.py: a low-key scene, a silhouette, sharp eyes...) gives back the head's points for the
   flaw classes it explains, and takes away the reasons naming them;
2. the points left are priced as people price each flaw (core/judge/prices.py: PRICE);
3. a flaw class whose own scorer sees no more of it than clean photos show is weak: its points go to no reason,
   and where the subject map finds a sharp, lit subject standing out (intent.sure_subject) only half of them count;
4. the flaws the head cannot see (closed eyes, a misfire, an artefact...) lower its score by their PENALTY;
5. a low score no reason explains is named by the flaw the head blames most (core/judge/texts.py: FLAW_REASONS);
6. each reason gets the points it took (core/judge/costs.py), and a photo put under the line by points no flaw
   scorer confirms says so: the head's doubt (core/judge/texts.doubted).
"""

from __future__ import annotations

import math
from dataclasses import replace

from keepers.core.judge import intent
from keepers.core.judge.costs import costs
from keepers.core.judge.flaws import named_flaw
from keepers.core.judge.prices import (ARTEFACTS, CLASSICAL, CLEAN, EVIDENCE, FACE_LOST_EV, GUESS, MISFIRE, PENALTY,
                                       SCORER, priced)
from keepers.core.judge.texts import FAMILY, FLAW_REASONS, doubted
from keepers.core.settings import Settings
from keepers.core.types import Finding, Reason

QUALITY = "quality"  # the analyzer whose head speaks for the whole photo


def by_quality_head(q: Finding, findings: list[Finding], settings: Settings) -> tuple[float, str, list[Reason]]:
    """The head's reading lowered by the flaws it cannot see; the points spread over the reasons that explain them.

    `q.reasons` are the portrait and landscape checks' (measured on the frame by the quality analyzer); the faces
    analyzer's closed eyes count with them unless the quality analyzer found the faces again itself (then its own
    look is in `q.reasons`)."""
    head_score = float(q.features["head_score"])
    lost = max(0.0, CLEAN - head_score)  # the head's points for flaws, spread over its flaw classes
    flaws = dict(q.data.get("flaw_p", {}))
    # intent the measurements recognise (a low-key scene, a silhouette, sharp eyes...): the head's points for the
    # flaw classes it explains are given back, and the reasons naming those flaws go (core/judge/intent.py)
    explained: set[str] = set()
    meant = []  # only those that matter here (give back points, take a reason away), and the photographer is told
    top = max((c for c in flaws if c in FLAW_REASONS), key=flaws.get, default=None)
    for i in intent.recognise(findings):
        if top not in i.explains:  # it must explain the flaw the head blames most: a noisy copy of a portrait with
            continue  # sharp eyes is marked down for its noise, and gets back none of the blur the head half-suspects
        gain = lost * sum(flaws.get(c, 0.0) for c in set(i.explains) - explained)
        if gain >= intent.NOTE or any(r.code in i.explains for f in findings for r in f.reasons):
            meant.append(i)
            explained |= set(i.explains)
    head_score += lost * sum(p for c, p in flaws.items() if c in explained)
    flaws = {c: (0.0 if c in explained else p) for c, p in flaws.items()}
    kept = priced(flaws, lost)  # what people mind of each flaw (PRICE): the rest of the head's points given back
    head_score += lost * sum(flaws.values()) - lost * sum(kept.values())
    flaws = kept
    # a flaw's own scorer (quality: flaw_<kind>, 0 at the clean median, +1 per interquartile range of clean photos)
    # says whether the photo shows more of it than clean photos do; where it does not, the flaw class is weak: its
    # points go to no reason. The noise measure's reason goes too: it reads foliage, fur and gravel as grain, and the
    # noise scorer, reading every measure together, tells them apart (the other measures' reasons stay listed, at
    # no cost: a lens falloff of 2 stops is there whatever the scorer makes of it)
    scorer = {k.removeprefix("flaw_"): v for k, v in q.features.items() if k.startswith("flaw_")}
    weak = {c for c, k in SCORER.items() if scorer.get(k, EVIDENCE) < EVIDENCE}
    # a sharp, lit subject standing out from a darker rest: the head's points that no scorer confirms (its doubt, read
    # off the backdrop) count DOUBT_KEPT of themselves; a rose on black had gone under the line on them alone
    if intent.DOUBT_KEPT < 1.0 and intent.sure_subject(findings):
        back = {c for c in flaws if c not in FLAW_REASONS or c in weak}
        gain = lost * (1.0 - intent.DOUBT_KEPT) * sum(flaws[c] for c in back)
        head_score += gain
        flaws = {c: p * (intent.DOUBT_KEPT if c in back else 1.0) for c, p in flaws.items()}
        meant += [intent.SURE] if gain >= intent.NOTE else []
    unfounded = {"noise"} if "noise" in weak else set()
    gone = {r.code for f in findings if f.analyzer in CLASSICAL for r in f.reasons if r.code in unfounded}
    meant += [intent.TEXTURE] if "noise" in gone else []
    keep = lambda rs, a=QUALITY: [r for r in rs if r.code not in explained  # noqa: E731
                                  and not (a in CLASSICAL and r.code in unfounded)]
    faces = next((f for f in findings if f.analyzer == "faces"), None)
    own = keep(q.reasons)
    face_ev = (q.data.get("portrait") or {}).get("face_ev")
    readable = face_ev is not None and face_ev > FACE_LOST_EV
    unseen = [r for r in own if not (readable and r.code == "backlit")]
    unseen += ([r for r in faces.reasons if r.code == "closed_eyes"]
               if faces is not None and not q.data.get("faces_again") else [])
    # the classical analyzers' reasons do not lower the score: the head sees those flaws itself (a penalty for them
    # was tried: clean photos judged good fell from 0.91 to 0.80 for no gain in AUC). A misfire it does not see
    theirs = [(f.analyzer, r) for f in findings if f is not q for r in keep(f.reasons, f.analyzer)]
    unseen += [r for _, r in theirs if r.code == MISFIRE or r.code in ARTEFACTS]
    factor = math.prod(1 - PENALTY.get(r.code, 0.2) * r.severity for r in unseen) if unseen else 1.0
    overall = 1.0 + (head_score - 1.0) * factor
    # a flaw class's points go to its reasons, and a low score is named by it, only where its scorer sees the flaw:
    # the head spreads a clean photo's shortfall over its classes too, and a reason costing points is a claim that
    # the flaw is there (a checkerboard's edges on the 8 px grid read as JPEG blocks to the head, not to the scorer)
    seen = {c: p for c, p in flaws.items() if c not in weak}
    # (naming a low score asks less evidence: the score says something is wrong, the scorer only which flaw it is)
    named_by = {c: p for c, p in flaws.items() if c not in SCORER or scorer.get(SCORER[c], GUESS) >= GUESS}
    blamed = max((k for k in named_by if k in FLAW_REASONS), key=named_by.get, default=None)
    if blamed is not None and named_by[blamed] > 0:  # a low score that no reason explains: the flaw blamed most
        code, message = FLAW_REASONS[blamed]
        named = {FAMILY.get(r.code, r.code) for r in own + [r for _, r in theirs]}
        if overall < settings.good_threshold and FAMILY.get(code, code) not in named:
            own.append(Reason(code, message, min(1.0, max(0.2, (settings.good_threshold - overall) / 4))))
    paid = costs([(q.analyzer, r) for r in own] + theirs, unseen, head_score, overall, seen, lost)
    reasons = []
    for f in findings:  # in the analyzers' order, the quality finding's reasons with the guess
        rs = own if f is q else keep(f.reasons, f.analyzer)
        for r in rs:
            same = [x.severity for x in rs if x.code == r.code]
            share = r.severity / sum(same) if sum(same) > 0 else 1 / len(same)
            reasons.append(Reason(r.code, r.message, r.severity, paid.get(f"{f.analyzer}/{r.code}", 0.0) * share))
    reasons += intent.notes(meant)
    # the head's points that no flaw scorer confirms (its "no flaw" class, and flaw classes whose scorer sees no
    # more of the flaw than clean photos show) go to no flaw reason; a photo they alone put under the line says so
    doubt = lost * sum(p for c, p in flaws.items() if c not in FLAW_REASONS or c in weak)
    if overall < settings.good_threshold and doubt >= 0.05 and not named_flaw(reasons):
        doubted_class = blamed if blamed in weak else None
        guess = FLAW_REASONS.get(doubted_class)  # the guess that named it at no cost makes way for the one that pays
        reasons = [r for r in reasons if (r.code, r.message) != guess]
        said = doubted(doubt, doubted_class)
        # a measure that found some of the blamed flaw, too little to charge it, is said inside the doubt, not beside
        # it: lowlight/03 read "...which the falloff measure does not confirm" over "Vignetting: corners about 3.6
        # stops darker" (cost 0), and the sidecar carried the code twice
        beside = [r for r in reasons if r.code == said.code and said.code != "low_quality"]
        if beside:
            said = replace(doubted(doubt, doubted_class, beside[0].message), cost=doubt + sum(r.cost for r in beside))
            reasons = [r for r in reasons if all(r is not b for b in beside)]
        reasons.append(said)
    return overall, f"quality/{q.data.get('route', 'other')}", reasons
