"""The judging step: one photo's findings -> its Judgement (score, verdict, confidence, stars, reasons with what
each cost). It runs once per photo, after analysis and before grouping; grouping may then mark a photo pick or
alternate and add a reason, but never judges again. Analyzers measure; only this module turns measurements into a
score, so a photo read back from the catalog is judged exactly as a freshly analysed one.

Where the quality analyzer measured the photo (its head's 1-10 reading, its flaw classes, the portrait and
landscape checks' reasons), the score is the head's, lowered by the penalties of the flaws the head cannot see
(closed eyes, a tilted horizon...), and the points go to the reasons that explain them (`costs`). Without it (a
plugin set without the quality analyzer), the score is a weighted geometric mean of the analyzers' scores: one
severe flaw pulls the photo down however good the rest is. A photo that nothing could judge gets no score.
"""

from __future__ import annotations

import math

from keepers.core.judge.moment import moment
from keepers.core.judge import intent
from keepers.core.judge.flaws import DOUBT, is_flaw, named_flaw
from keepers.core.settings import Settings
from keepers.core.taste.term import personal
from keepers.core.types import Finding, Judgement, Reason

FLOOR = 0.02  # a finding's score of exactly 0 would make the log infinite
QUALITY = "quality"  # the analyzer whose head speaks for the whole photo
# reasons that say a photo cannot be judged at all (a thumbnail-sized image or preview)
UNJUDGEABLE = ("too_small",)
BLANK = "blank"  # a frame of one flat tone: rejected, for that reason alone

# how much a flaw the head cannot see takes off the head's score (times the reason's severity)
PENALTY = {"closed_eyes": 0.7, "red_eye": 0.4, "face_cut_off": 0.35, "out_of_focus": 0.5, "backlit": 0.35,
           "airbrushed_skin": 0.25, "tilted_horizon": 0.3, "low_contrast": 0.2, "clipped_highlights": 0.2,
           "soft_corners": 0.15, "misfire": 0.9,
           "impulse_noise": 0.7, "posterised": 0.5, "pixelated": 0.85, "pasted_blocks": 0.95,
           "colour_bleed": 0.9, "washed_out": 0.9, "smeared": 0.9, "jagged": 0.9}
# The head's scale puts the median clean photo at 7.5 (models/train/quality.py: knots). Points below that are what
# the head took for flaws, and go to the reasons naming them; the gap from 7.5 to 10 is no flaw (a sound photo is
# not a great one: the moment and appeal say what lifts it). Counted from 10, a clean photo at 7 "lost" 3 points
# to flaws, and a quarter of clean real photos carried a flaw reason costing half a point or more (docs/eval.md)
CLEAN = 7.5
# the head's flaw classes -> the flaw scorer that measures each; EVIDENCE: interquartile ranges above the clean median
SCORER = {"blur": "gaussian_blur", "motion": "motion_blur", "noise": "noise", "jpeg": "jpeg", "under": "underexpose",
          "over": "overexpose", "contrast": "low_contrast", "vignetting": "vignetting", "ca": "chromatic_aberration"}
EVIDENCE = 2.5  # chosen on the train part of the clean photos (core/lab/falsealarms.py; docs/eval.md)
GUESS = 1.0  # IQRs above the clean median a flaw's scorer needs for the flaw to name a low score
# stops under middle grey (the portrait check's face_ev) from which a face is lost in shadow: only then does a bright
# background cost points ("backlit is a flaw only when the subject's face is lost"); a face that still reads (carved
# totems against a lit forest at -2 EV) keeps its "backlit" reason, at no cost
FACE_LOST_EV = -2.5
CLASSICAL = ("sharpness", "noise", "exposure", "lens")  # the measuring analyzers (not the quality finding's checks)
MISFIRE = "misfire"  # a finger or strap over the frame, a colour cast over a region: a reject (exposure analyzer)
ARTEFACTS = ("impulse_noise", "posterised", "pixelated", "pasted_blocks",  # core/analyzers/artefacts.py; PENALTY: KADID
             "colour_bleed", "washed_out", "smeared", "jagged")  # core/analyzers/damage.py (its severity: people's loss)
# the head's flaw classes -> reason codes, for a low score no analyzer explains; FAMILY: codes that name one flaw
FAMILY = {"motion_blur": "out_of_focus", "clipped_shadows": "underexposed", "backlit": "underexposed",
          "clipped_highlights": "overexposed"}
FLAW_REASONS = {
    "blur": ("out_of_focus", "Soft: the quality model sees blur (no sharp detail)"),
    "motion": ("motion_blur", "Motion blur, as the quality model sees it"),
    "noise": ("noise", "Noise: grain or blotches, as the quality model sees it"),
    "jpeg": ("jpeg_artifacts", "Compression artefacts (blocky, smeared detail), as the quality model sees it"),
    "under": ("underexposed", "Too dark, as the quality model sees it"),
    "over": ("overexposed", "Too bright, washed out, as the quality model sees it"),
    "contrast": ("low_contrast", "Flat, low-contrast tones, as the quality model sees it"),
    "vignetting": ("vignetting", "Dark corners or edges, as the quality model sees it"),
    "ca": ("chromatic_aberration", "Colour fringes on edges, as the quality model sees it"),
}


# The head's points for a flaw class, priced as people price that flaw. KADID-10k's people mind slight noise far less
# than the head does (level-1 white noise: people 3.9 of 5, well above a level-3 Gaussian blur's 2.9; the head put it
# a point below). class -> (the share of its points kept when they are few, the points from which all are kept),
# linear between. Noise keeps 70 %, chosen on training photos' KADID copies (docs/eval.md, "Flaws priced as people
# price them"): a lower share lets real noisy photos (real_defects/noisy/Vinegar.jpg) through as good
PRICE: dict[str, tuple[float, float]] = {"noise": (0.7, 10.0)}


def priced(flaws: dict[str, float], lost: float) -> dict[str, float]:
    """The flaw classes' shares of the head's lost points, each times the share of its points people would charge."""
    out = {}
    for c, p in flaws.items():
        low, full = PRICE.get(c, (1.0, 0.0))
        points = lost * p
        out[c] = p * (1.0 if points >= full else low + (1.0 - low) * points / full)
    return out


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
        score, judged_by, reasons = _by_quality_head(quality, findings, settings)
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


def _by_quality_head(q: Finding, findings: list[Finding], settings: Settings) -> tuple[float, str, list[Reason]]:
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
        reasons = [r for r in reasons if (r.code, r.message) != guess] + [doubted(doubt, doubted_class)]
    return overall, f"quality/{q.data.get('route', 'other')}", reasons


# Judged bad on the quality model's doubt alone (no flaw named at FLAW_COST points): the verdict stays, and says so.
# The doubt is evidence, not noise: of the 24 real-defect photos (real_defects, noisy and low-light) judged bad, 11
# rest on it alone, as do 2 of 11 clean photos judged bad and 29 of 53 flowers (taste/flowers). Giving back a fifth
# of those points took the clean vs real-defect AUC from 0.795 to 0.768, and half of them to 0.740 (docs/eval.md).
# The reason keeps the code of the flaw the model blames (users filter by it; `low_quality` where it blames none),
# says it is the model's doubt, and is no named flaw (core/judge/flaws.DOUBT): no flaw| keyword, and a taste profile
# may lift the photo
DOUBTS = {"blur": "softer", "motion": "more smeared", "noise": "grainier", "jpeg": "more blocky",
          "under": "darker", "over": "brighter", "contrast": "flatter", "vignetting": "darker in the corners",
          "ca": "more fringed on its edges"}
CONFIRMS = {"blur": "the focus measure", "motion": "the motion measure", "noise": "the noise measure",
            "jpeg": "the compression measure", "under": "the exposure measure", "over": "the exposure measure",
            "contrast": "the contrast measure", "vignetting": "the falloff measure", "ca": "the fringe measure"}


def doubted(points: float, blamed: str | None) -> Reason:
    """The reason of a photo judged bad on the quality model's doubt alone, carrying the points the doubt cost.
    `blamed`: the flaw class the model blames most, where its scorer sees some of it (GUESS) but not enough to
    claim the flaw (EVIDENCE)."""
    if blamed in DOUBTS:
        code = FLAW_REASONS[blamed][0]
        what = f"it reads {DOUBTS[blamed]} than most sound photos, which {CONFIRMS[blamed]} does not confirm"
    else:
        code, what = "low_quality", "it scores below most sound photos with no flaw its measures confirm"
    return Reason(code, f"{DOUBT}: {what}", min(0.25, points / 10), cost=points)


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
