"""The moment and what people prefer: points on top of a photo's technical score, so that the 1-10 scale is used
in full (a shoot's best moments stand out from frames that are merely sound) and every point is explained.

Reads the appeal analyzer's numbers (keepers.core.analyzers.appeal):
- in a photo of people: a smile on the main faces, their eyes open toward the camera, in a group everyone's eyes
  open, give points; a main face cut by the frame or turned away takes some. Closed eyes are not counted again:
  the judging step's `closed_eyes` penalty took those points. (Small faces were tried as a cost: a juggler's whole
  body in the frame read as "people too small"; people are counted from the analyzer's `MIN_FACE` up.)
- `appeal`, the "people prefer" head: `APPEAL` points per spread, within `APPEAL_RANGE` (never below 0 in a
  photo of people: the head learned from flowers and scenery, and people photos are what people keep most).

The rules keep the verdict's meaning: the terms reorder the photos judged good and never move one out of that
band. A photo judged good stays good whatever its look (a dull look is not a flaw); a photo judged bad is left as
its flaws put it, neither lifted toward the line nor pushed toward a reject (its stars say how flawed it is, and a
photographer's own rating that matches them would read as Keepers'). Gains grow with how sound the photo is
(nothing at the verdict line, all of them `SOUND` points above it), so a flawed copy is not lifted over its clean
original.
"""

from __future__ import annotations

from keepers.core.types import Finding, Reason

# points per spread of the head's utility over the photos it learned from, and its bounds. Small on purpose: the
# head lifts scenic photos, and `keepers eval`'s real-defect photos are mostly scenic low-light shots. On a third of
# its clean test photos against its 23 real defects the AUC read 0.803 without the term and 0.776 at 1.0 point per
# spread (-1.0..+1.5); here 0.798 against 0.807 without (docs/eval.md)
APPEAL = 0.3
APPEAL_RANGE = (-0.6, 0.5)
SMILE = 1.2  # a sure smile on every main face (the emotion model's p(happy) 1)
EYES = 0.4  # every judged face's eyes open, the main face toward the camera (|yaw| < TOWARD)
GROUP = 0.3  # and in a group (GROUP_SIZE or more judged faces) everyone's
GROUP_SIZE = 3
TOWARD = 0.35
AWAY = -0.3  # the main face turned away (|yaw| > TURNED)
TURNED = 0.6
CUT = -0.5  # the main face cut by the frame's edge (a face over CLOSE_UP of the frame is a close-up, cut on purpose)
CLOSE_UP = 0.45
SOUND = 1.0  # gains are full from this many points above the verdict line, none at it


def terms(a: Finding | None, faces_cut: bool) -> list[tuple[str, str, float]]:
    """(code, what it is, points) of each term the appeal finding gives, before the rules."""
    if a is None:
        return []
    f, out = a.features, []
    if f.get("people", 0) > 0:
        said, pts = [], 0.0
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
        pts = min(APPEAL_RANGE[1], max(low, APPEAL * float(u)))
        if abs(pts) >= 0.05:
            out.append(("appeal", "people like photos like this" if pts > 0 else "people tend to pass over "
                        "photos like this", pts))
    return out


def moment(findings: list[Finding], score: float, settings) -> tuple[float, list[Reason]]:
    """`score` (the technical 1-10, clamped) with the moment and appeal terms, and a reason for each term that
    moved it (cost = minus the points it gave, as the taste reason)."""
    thr = settings.good_threshold
    if score < thr:  # judged bad: its flaws set its place
        return score, []
    a = next((f for f in findings if f.analyzer == "appeal"), None)
    cut = any(r.code == "face_cut_off" for f in findings for r in f.reasons)  # the portrait check said it already
    sound = min(1.0, max(0.0, (score - thr) / SOUND))
    given = [(code, what, pts * sound if pts > 0 else pts) for code, what, pts in terms(a, cut)]
    total = sum(p for _, _, p in given)
    new = max(score + total, thr)  # a dull look is not a flaw
    new = round(min(10.0, max(1.0, new)), 2)
    moved = new - score
    if not given or abs(moved) < 0.05:
        return score, []
    # the points each term gave, scaled as the rules scaled the total
    scale = moved / total if abs(total) > 1e-9 else 0.0
    reasons = []
    for code, what, pts in given:
        p = round(pts * scale, 1)
        if abs(p) >= 0.05:
            # a look, not a flaw: severity stays under the 0.3 from which a reason becomes a flaw| keyword
            reasons.append(Reason(code, f"{what[0].upper()}{what[1:]}: {p:+.1f}", min(0.25, abs(p) / 4), cost=-p))
    return new, reasons
