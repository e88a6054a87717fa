"""The pick of a group: the metered frame of a bracket, the middle of a panorama sweep, and for a burst or a set
of copies the best frame: the subject present, then not blurred nor eyes closed, then full size, then the judging
step's score, then sharpness; with why, in a photographer's words."""

from __future__ import annotations

import numpy as np

from keepers.core.judge.shoot import exposure
from keepers.core.judge.shot import GroupInput

def frame_sharpness(m: GroupInput) -> float:
    if m.sharpness is not None:
        return float(m.sharpness)
    if m.sharp_grid is not None:  # the subject is where the detail is: the sharpest quarter of the frame
        g = np.sort(np.asarray(m.sharp_grid).ravel())
        return float(g[-max(1, g.size // 4):].mean())
    return 0.0


def choose_pick(members: list[GroupInput], kind: str) -> tuple[GroupInput, str]:
    n = len(members)
    if kind == "bracket":
        ev = [m.exposure_bias if m.exposure_bias is not None else (exposure(m) or 0.0) for m in members]
        mid = float(np.median(ev)) if members[0].exposure_bias is None else 0.0
        p = min(range(n), key=lambda i: (abs(ev[i] - mid), abs(i - (n - 1) / 2)))
        steps = "/".join(f"{x:+g}" for x in sorted({round(x, 1) for x in ev}))
        what = f" ({steps} EV)" if members[0].exposure_bias is not None else ""
        return members[p], f"metered exposure of a {n}-frame bracket{what}; brackets are merged (HDR), not culled"
    if kind == "panorama":
        return members[(n - 1) // 2], f"middle frame of a {n}-frame panorama sweep; panorama frames are stitched, not culled"
    sharp = [frame_sharpness(m) for m in members]
    big = max((m.pixels or 0) for m in members)
    here = present(members)

    def rank(i: int):
        m = members[i]
        full = kind != "duplicate" or (m.pixels or 0) >= 0.8 * big
        # a frame the subject has left holds nothing to keep, however sharp: presence comes first
        return (here[i], not (m.blurred or m.eyes_closed), full, round(m.quality or 0.0, 1), sharp[i])

    order = sorted(range(n), key=rank, reverse=True)
    p, best = order[0], members[order[0]]
    if kind == "focus_stack":
        return best, f"best single frame of a {n}-frame focus stack; stacks are merged, not culled"
    traits = []
    if kind == "duplicate" and big and (best.pixels or 0) >= 0.8 * big and any((m.pixels or 0) < 0.8 * big for m in members):
        traits.append("full resolution")
    if sharp[p] >= max(sharp) - 0.05 and len(set(np.round(sharp, 2))) > 1:
        traits.append("sharpest")
    elif not best.blurred and any(m.blurred for m in members):
        traits.append("sharp")
    if any(m.eyes_closed for m in members) and not best.eyes_closed:
        traits.append("eyes open")
    if not all(here) and here[p]:
        traits.append("the subject in the frame")
    if any(m.badly_exposed for m in members) and not best.badly_exposed:
        traits.append("well exposed")
    noun = "near-identical copies" if kind == "duplicate" else "frames"
    why = f"best of {n} {noun}"
    if traits:
        why += ": " + ", ".join(traits)
    nxt = members[order[1]].quality
    if best.quality is not None and nxt is not None:
        why += (f" (score {best.quality:.1f} vs {nxt:.1f} for the next best)" if best.quality - nxt >= 0.05
                else f" (score {best.quality:.1f}, tied with the next best)")
    flaws = [f"{c} {w}" for c, w in ((sum(m.blurred for m in members), "blurred"),
                                      (sum(m.eyes_closed for m in members), "with closed eyes")) if c]
    if flaws:
        why += "; others: " + ", ".join(flaws) if not (best.blurred or best.eyes_closed) else "; every frame is flawed"
    return best, why


# a burst whose median frame is more sure than not of an animal is a burst of that animal. Not less: on blotchy
# asphalt the image model spreads 0.3-0.6 of its belief thinly over the 398 animal classes (no class sure), and at
# 0.3 a road's frames with a car in them read as "the animal has left" (bursts/clips/car-detection); the median
# frame of a burst of a dog or of a cockatoo reads 0.94 and 0.82
SUBJECT_GROUP = 0.5
SUBJECT_LEFT = 0.3  # a frame of it less sure than this share of its surest frame: the animal has left


def present(members: list[GroupInput]) -> list[bool]:
    """Per frame: is the burst's subject in it? A burst of an animal (most frames show one) loses it in the
    frames where the image model no longer sees one; a burst of people (most frames show a face large enough to
    be the subject) in the frames with none. Every frame counts as present where the burst has no such subject or
    the analyzers did not say."""
    out = [True] * len(members)
    animal = [m.subject for m in members]
    if all(a is not None for a in animal) and np.median(animal) >= SUBJECT_GROUP:
        top = max(animal)
        out = [o and a >= SUBJECT_LEFT * top for o, a in zip(out, animal)]
    faces = [m.people for m in members]
    if all(f is not None for f in faces) and sum(f > 0 for f in faces) * 2 > len(faces):
        out = [o and f > 0 for o, f in zip(out, faces)]
    return out
