"""Bursts, near-duplicates, exposure brackets, panoramas and focus stacks, and the pick of each group.

Photos are linked when (a) they follow each other from one camera within `BURST_GAP` seconds, or (b) one has no
capture time and they follow each other in file-name order (camera counters: IMG_0041, IMG_0042), and in both
cases look alike and frame one scene (half of each frame is found again in the other, in its colours, near where
it was: two faces or two beaches look alike to the embedding whoever and wherever they are); or (c) they are
copies (flipped, turned, resized, re-encoded) wherever they are, or versions of one capture (IMG_0042.jpg,
IMG_0042-edit.jpg) that look alike. All cosines come from one matrix product of the shoot's embeddings (in row
blocks, to bound memory); copies are confirmed on fine detail, which tells a copy from a lookalike shot minutes
later. Groups are the connected components.

A group whose frames step in exposure is a bracket, one whose frames shift by a large consistent offset is a
panorama, one with fixed framing whose sharp region moves is a focus stack: those are merged in editing, not
culled, so none of their frames is an alternate; their pick is a reference frame (the metered exposure, the
middle of the sweep, the best single frame). A burst or a set of copies keeps its best frame by quality (the
judging step's score, then sharpness); a frame the subject has left (the dog out of a burst of the dog, the person
out of a burst of that person) is never the pick, nor, among the others, a blurred frame or one with closed eyes
unless every frame is.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from keepers.core.hookspecs import hookimpl
from keepers.core.judge.likeness import SCENE_DE, focus_moves, phase_shift, still, sweep_step
from keepers.core.judge.pick import choose_pick, present
from keepers.core.judge.shoot import Shoot, exposure_step, look_alike, neighbours, set_link, similarities
from keepers.core.judge.shot import GRID, GroupFeatures, GroupInput, group_input, parse_time
from keepers.core.types import Reason, Verdict

# the pieces live in shot.py (one photo), likeness.py (pixels), shoot.py (links), pick.py (the pick); the names
# above are also this module's, for its callers (the pipeline, the bench, the tests)
__all__ = ["GRID", "SCENE_DE", "GroupFeatures", "GroupInput", "Group", "Membership", "Shoot", "annotate",
           "apply_groups", "choose_pick", "group", "group_input", "parse_time", "present"]

BURST_GAP = 2.0  # s between consecutive frames of a burst
# T_SEQ: the middle of the best range (0.38-0.64) on a fixed-seed half of the scenes of ../shared/data/bursts;
# consecutive frames of one scene there score >= 0.59, neighbouring files of different scenes <= 0.43
T_SEQ = 0.51  # cosine for consecutive file names when a photo has no capture time
T_BURST = T_SEQ  # cosine for consecutive frames of one camera within BURST_GAP
T_CAND = 0.75  # cosine from which two photos anywhere in the shoot are compared as possible copies
# copies (re-encoded, resized, squashed, turned, brightened) of sample photos score >= 0.989; frames of one video
# shot minutes apart by a fixed camera, lookalikes to the eye and to the embedding (cosine 0.986), <= 0.978
T_PIX = 0.985  # fine-detail correlation of copies
T_COPY = 0.99  # cosine that makes copies when a photo has no thumbnail to compare
PAIR_BLOCK = 4096  # candidate copy pairs looked at between two checks of which are together already
CULLED = ("burst", "duplicate")  # kinds whose non-picks are alternates
SPECIAL = ("bracket", "panorama", "focus_stack")  # kinds that are merged in editing, never culled


@dataclass
class Group:
    id: str
    kind: str  # burst | duplicate | bracket | panorama | focus_stack
    members: list[str]
    pick: str | None
    why: str
    alternates: list[str] = field(default_factory=list)


class Membership(NamedTuple):
    group: str
    kind: str
    pick: bool
    why: str

    @property
    def alternate(self) -> bool:
        return self.kind in CULLED and not self.pick


@hookimpl
def keepers_analyzers(settings):
    return [GroupFeatures()]

def group(items: list[GroupInput]) -> list[Group]:
    """Group a shoot; photos that belong to no group are left out."""
    if len(items) < 2:
        return []
    shoot = Shoot(items)
    # 1. neighbours in time (same camera) or in file-name order that look alike and frame one scene (looking
    # alike is not enough: any two faces, any two beaches look alike to the embedding); versions of one capture
    # (IMG_0042.jpg, IMG_0042-edit.jpg) may be edited past that
    for i, j, how, dt in neighbours(items, shoot.names):
        if shoot.find(i) == shoot.find(j):
            continue
        sim = shoot.sim(i, j)
        alike = look_alike(items[i], items[j], sim, T_SEQ if how == "name" else T_BURST)
        burst = (how == "name" or dt <= BURST_GAP) and alike and (shoot.versions(i, j) or shoot.same_scene(i, j))
        if burst or (how == "time" and set_link(items[i], items[j], sim)):
            shoot.union(i, j)
    # 2. copies anywhere: one product over the shoot finds the candidates, fine detail confirms them
    rows, cols, sims = similarities(shoot.emb, shoot.have, T_CAND)
    order = np.argsort(-sims, kind="stable")
    for start in range(0, len(order), PAIR_BLOCK):
        block = order[start:start + PAIR_BLOCK]
        # n identical copies make n(n-1)/2 candidate pairs, nearly all already together: a block's pairs joined
        # before it are left out at once (1,000-2,000 copies spent seconds in a find() per pair)
        root = shoot.roots()
        for k in block[root[rows[block]] != root[cols[block]]]:
            i, j = int(rows[k]), int(cols[k])
            if shoot.find(i) == shoot.find(j):
                continue  # already together: no need to look at pixels
            c = shoot.copy_score(i, j)
            if (c is not None and c >= T_PIX) or (c is None and sims[k] >= T_COPY):
                shoot.union(i, j)
    comps: dict[int, list[int]] = {}
    for i in range(len(items)):
        comps.setdefault(shoot.find(i), []).append(i)
    groups = [_make_group(shoot, m) for m in comps.values() if len(m) > 1]
    return sorted(groups, key=lambda g: g.members[0])


def _make_group(shoot: Shoot, idx: list[int]) -> Group:
    items = shoot.items
    idx = sorted(idx, key=lambda i: (items[i].time is None, items[i].time or 0.0, shoot.names[i]))
    members = [items[i] for i in idx]
    kind = _kind(shoot, idx)
    keys = [m.key for m in members]
    # the id names the frames' content (each one's thumbnail, else its embedding; its path only when it has
    # neither), not where they are: a moved or renamed folder keeps its group ids, so its sidecars need no rewrite
    # and the collections a DAM built on them hold
    content = [m.key if x is None else hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=8).hexdigest()
               for m in members for x in [m.thumb if m.thumb is not None else m.embedding]]
    gid = "g-" + hashlib.blake2b("\n".join(sorted(content)).encode(), digest_size=5).hexdigest()
    pick, why = choose_pick(members, kind)
    alternates = [k for k in keys if k != pick.key] if kind in CULLED else []
    return Group(gid, kind, keys, pick.key, why, alternates)


def _kind(shoot: Shoot, idx: list[int]) -> str:
    members = [shoot.items[i] for i in idx]
    timed = [m for m in members if m.time is not None]
    if len(timed) >= 2 and len({m.camera for m in timed}) == 1:
        if max(exposure_step(a, b) for a in timed for b in timed) >= 0.6:
            return "bracket"
        if all(m.thumb is not None for m in timed):
            pairs = list(zip(timed, timed[1:]))
            first = phase_shift(pairs[0][0].thumb, pairs[0][1].thumb)  # most groups are settled by one pair
            if sweep_step(first):
                shifts = [first] + [phase_shift(a.thumb, b.thumb) for a, b in pairs[1:]]
                axis = 0 if sum(abs(s[0]) for s in shifts) >= sum(abs(s[1]) for s in shifts) else 1
                if all(sweep_step(s) for s in shifts) and len({np.sign(s[axis]) for s in shifts}) == 1:
                    return "panorama"  # one sweep direction
            elif (still(first) and all(m.sharp_grid is not None for m in timed)
                  and focus_moves([m.sharp_grid for m in timed])
                  and all(still(phase_shift(a.thumb, b.thumb)) for a, b in pairs[1:])):
                return "focus_stack"
    if len({m.time for m in timed}) <= 1:  # no two capture moments: copies of one photo?
        if len({shoot.names[i][:3] for i in idx}) == 1:  # IMG_0042.jpg, IMG_0042-edit.jpg, IMG_0042 (2).jpg
            return "duplicate"
        if len(idx) <= 12 and all((shoot.copy_score(i, j) or 0.0) >= T_PIX for i in idx for j in idx if i < j):
            return "duplicate"
    return "burst"


def apply_groups(results, settings=None) -> dict[str, Membership]:
    """Group judged pipeline Results: {photo path: Membership(group id, kind, is pick, why)} for grouped photos
    only. The pick is chosen by the judgements made already: grouping never judges a photo again."""
    items = {it.key: it for it in (group_input(r) for r in results if not getattr(r, "error", None))}
    out: dict[str, Membership] = {}
    for g in group(list(items.values())):
        for k in g.members:
            out[k] = Membership(g.id, g.kind, k == g.pick, g.why if k == g.pick else _why_not(g, items[k]))
    return out


def annotate(verdict: Verdict, m: Membership | None) -> Verdict:
    """Copy a photo's group into its verdict: group id, pick, keywords (group|burst, group|alternate...), and a
    zero-cost reason: for an alternate which frame won and why, for a burst's pick why it won; its score and stars
    stay its own."""
    if m is None:
        return verdict
    verdict.group, verdict.pick = m.group, m.pick
    words = {f"group|{m.kind.replace('_', ' ')}"}
    if m.alternate:
        words.add("group|alternate")
        verdict.reasons.append(Reason("alternate", m.why, 0.0))
    elif m.pick and m.kind in CULLED:
        words.add("group|pick")
        verdict.reasons.append(Reason("pick", m.why, 0.0))  # why it won, as its alternates say why they lost
    verdict.keywords = sorted(set(verdict.keywords) | words)
    return verdict


def _why_not(g: Group, it: GroupInput) -> str:
    """Why a member is not the pick, in a photographer's words."""
    n, pick = len(g.members), os.path.basename(g.pick or "")
    if g.kind not in CULLED:
        return f"frame of a {n}-frame {g.kind.replace('_', ' ')} (kept for merging; reference frame {pick})"
    own = [w for flag, w in ((it.blurred, "blurred"), (it.eyes_closed, "eyes closed"),
                             (it.badly_exposed, "badly exposed")) if flag]
    return f"alternate in a {n}-frame {g.kind}" + (f" ({', '.join(own)})" if own else "") + f"; the pick is {pick}"
