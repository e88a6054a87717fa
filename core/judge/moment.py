"""The moment and what people prefer: points on top of a photo's technical score, so that the 1-10 scale is used
in full (a shoot's best moments stand out from frames that are merely sound) and every point is explained.

Reads the appeal analyzer's numbers (keepers.core.analyzers.appeal):
- in a photo of people: people in the frame (a face large enough to be the subject), a smile on the main faces,
  their eyes open toward the camera, in a group everyone's eyes open, give points; a main face cut by the frame or
  turned away takes some. Closed eyes are not counted again: the judging step's `closed_eyes` penalty took those
  points. (Small faces were tried as a cost: a juggler's whole body in the frame read as "people too small"; people
  are counted from the analyzer's `MIN_FACE` up.)
- `appeal`, the "people prefer" head: `APPEAL` points per spread, within `APPEAL_RANGE` (never below 0 in a
  photo of people: the head learned from flowers and scenery, and people photos are what people keep most).

The rules keep the verdict's meaning: the terms reorder the photos judged good and never move one out of that
band. A photo judged good stays good whatever its look (a dull look is not a flaw); a photo judged bad is left as
its flaws put it, neither lifted toward the line nor pushed toward a reject (its stars say how flawed it is, and a
photographer's own rating that matches them would read as Keepers'). Only a SOUND photo is lifted: gains grow
from nothing at the verdict line to all of them `SOUND` points above it (a flawed copy is not lifted over its
clean original), and none at all where a named flaw costs it points (core/judge/flaws), or where grain says the photo
is a dim shot (`_grainy`): its look waits for the flaws' verdict. A look people pass over costs as much as a liked
one gives (down to `APPEAL_RANGE`'s low end), never below the verdict line: between two sound keepers the look
decides more than a point of technical score.
"""

from __future__ import annotations

import math

from keepers.core.judge.flaws import named_flaw
from keepers.core.types import Finding, Reason

# points per spread of the head's utility over the photos it learned from, counted from APPEAL_FROM spreads (a photo
# of average appeal gains half a point), within APPEAL_RANGE; DAMP: the share of the head's points above CLEAN that
# count (prices.CLEAN: above the median clean photo the head sees no flaw), so the look and the moment order the
# sound photos and the best have room below 10. Chosen on the photo-split folds of ../shared/data/taste (each fold
# scored with the values chosen on the other two), bounded by the eval's TRAIN half of clean and real-defect photos
# (AUC >= 0.93), the synthetic pairs (>= 0.95) and 5 stars (9 or more) for at most 15 % of the photos judged good;
# DAMP then raised from 0.5 to 0.75, where all the synthetic pairs (not a third) stay >= 0.95 (docs/eval.md "The
# moment and what people prefer"). At 0.3 point per spread the score a cull gives barely followed the head (flowers
# 47 %, holidays 57 % of people's choices against the head's 83 / 70 %)
# The low end: -0.5 until session 15, when two sound flowers differed by more than half a point of technical score
# the look could not reorder them (of the 50 flower pairs of two keepers with a clear majority, the held-out head
# ordered 42 right, the score 31). Chosen per photo fold on the other folds' pairs among -0.5..-4 (all three chose
# -2; every lower end gave the same pairs), within the same bounds as the rest; the synthetic
# pairs stay 0.950 and 5 stars are unchanged (docs/eval.md "The doubt named, and the look ...")
APPEAL, APPEAL_FROM, APPEAL_RANGE = 1.0, -0.5, (-2.0, 3.0)
DAMP, CLEAN = 0.75, 7.5
KNEE = 9.0  # from here the scale bends toward 10 (_top)
PEOPLE = 0.5  # a person in the frame (issue 21: "the photo has a person in it" beat the score on a trip album)
SMILE = 1.2  # a sure smile on every main face (the emotion model's p(happy) 1)
EYES = 0.4  # every judged face's eyes open, the main face toward the camera (|yaw| < TOWARD)
GROUP = 0.3  # and in a group (GROUP_SIZE or more judged faces) everyone's
GROUP_SIZE = 3
TOWARD = 0.35
AWAY = -0.3  # the main face turned away (|yaw| > TURNED)
TURNED = 0.6
CUT = -0.5  # the main face cut by the frame's edge (a face over CLOSE_UP of the frame is a close-up, cut on purpose)
CLOSE_UP = 0.45
SOUND = 0.5  # gains are full from this many points above the verdict line, none at it
# the quality analyzer's noise scorer (interquartile ranges of clean photos above their median): from NOISY the
# grain is as plain as a flaw the judging step would name (prices.GUESS); from GRAIN where the head put the photo
# below the line and intent gave its points back (a dark scene read as low-key, a lit subject). Scenic low-light
# shots are what the head likes and the eval's real-defect photos are: lifted, they passed clean photos
GRAIN, NOISY = 0.3, 1.0


def terms(a: Finding | None, faces_cut: bool) -> list[tuple[str, str, float]]:
    """(code, what it is, points) of each term the appeal finding gives, before the rules."""
    if a is None:
        return []
    f, out = a.features, []
    if f.get("people", 0) > 0:
        said, pts = (["people in it"], PEOPLE) if PEOPLE else ([], 0.0)
        smile = float(f.get("smile", 0.0))
        if smile >= 0.3:
            said.append("a smile")
            pts += SMILE * smile
        if f.get("eyes_open", 0.0) == 1.0 and f.get("yaw", 1.0) < TOWARD:
            group = f.get("eyes_judged", 0) >= GROUP_SIZE
            said.append("everyone's eyes open" if group else "eyes open to the camera")
            pts += EYES + (GROUP if group else 0.0)
        if f.get("yaw", 0.0) > TURNED:
            said.append("the face turned away")
            pts += AWAY
        if f.get("face_cut", 0.0) and not faces_cut and f.get("face_size", 1.0) < CLOSE_UP:
            said.append("the face cut by the frame")
            pts += CUT
        if said:
            out.append(("moment", ", ".join(said), pts))
    u = f.get("appeal")
    if u is not None:
        # the head learned from flowers and scenery: it knows nothing against a photo of people
        low = 0.0 if f.get("people", 0) > 0 else APPEAL_RANGE[0]
        pts = min(APPEAL_RANGE[1], max(low, APPEAL * (float(u) - APPEAL_FROM)))
        if abs(pts) >= 0.05:
            out.append(("appeal", "people like photos like this" if pts > 0 else "people tend to pass over "
                        "photos like this", pts))
    return out


def _top(x: float) -> float:
    """`x` on the 1-10 scale: above KNEE it bends toward 10 without reaching it, so the best photos keep their
    order (a hard clamp at 10 tied them, a flawed copy of a well-liked photo with its original)."""
    if x <= KNEE:
        return max(1.0, x)
    room = 10.0 - KNEE
    if room <= 0:
        return min(10.0, max(1.0, x))
    return KNEE + room * (1.0 - math.exp(-(x - KNEE) / room))


def _grainy(q: Finding | None, thr: float) -> bool:
    """Grain says the photo is a dim shot (GRAIN, NOISY above): its look waits for the flaws' verdict. `q`: the
    quality head's finding."""
    if q is None:
        return False
    grain = q.features.get("flaw_noise", 0.0)
    return grain >= NOISY or (q.features["head_score"] < thr and grain >= GRAIN)


def moment(findings: list[Finding], score: float, settings, reasons: list[Reason] = ()) -> tuple[float, list[Reason]]:
    """`score` (the technical 1-10, clamped) with the moment and appeal terms, and a reason for each term that
    moved it (cost = minus the points it gave, as the taste reason). `reasons`: the judgement's so far (a flaw
    among them naming a flaw (core/judge/flaws), and the photo is not lifted)."""
    thr = settings.good_threshold
    if score < thr:  # judged bad: its flaws set its place
        return score, []
    a = next((f for f in findings if f.analyzer == "appeal"), None)
    cut = any(r.code == "face_cut_off" for f in findings for r in f.reasons)  # the portrait check said it already
    q = next((f for f in findings if f.analyzer == "quality" and "head_score" in f.features), None)
    flawed = named_flaw(reasons) or _grainy(q, thr)
    sound = 0.0 if flawed else min(1.0, max(0.0, (score - thr) / SOUND))
    given = [(code, what, pts * sound if pts > 0 else pts) for code, what, pts in terms(a, cut)]
    total = sum(p for _, _, p in given)
    # the head's points above CLEAN say no flaw (prices.CLEAN): they count DAMP of themselves, so that the look
    # and the moment order the sound photos and the best have room below 10
    # (only where the quality head judged: the technical fallback's 10 is a photo with no flaw at all)
    base = CLEAN + DAMP * (score - CLEAN) if score > CLEAN and a is not None and q is not None else score
    new = round(_top(max(base + total, thr)), 2)  # a dull look is not a flaw
    moved = new - base
    if not given or abs(moved) < 0.05:
        return round(base, 2), []
    # the points each term gave, scaled as the rules scaled the total
    scale = moved / total if abs(total) > 1e-9 else 0.0
    out = []
    for code, what, pts in given:
        p = round(pts * scale, 1)
        if abs(p) >= 0.05:
            # a look, not a flaw: severity stays under the 0.3 from which a reason becomes a flaw| keyword
            out.append(Reason(code, f"{what[0].upper()}{what[1:]}: {p:+.1f}", min(0.25, abs(p) / 4), cost=-p))
    return new, out
