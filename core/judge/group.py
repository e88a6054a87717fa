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

import base64
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Finding, Frame, Reason, Verdict, area_resize

BURST_GAP = 2.0  # s between consecutive frames of a burst
SET_GAP = 10.0  # s between frames of a bracket, panorama or focus stack (tripod work is slower)
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
T_NCC = 0.85  # thumbnail correlation standing in for the cosine when a photo has no embedding
T_SET = 0.45  # cosine for views of one scene whose exposure (bracket) or framing (panorama) differ a lot
CULLED = ("burst", "duplicate")  # kinds whose non-picks are alternates
SPECIAL = ("bracket", "panorama", "focus_stack")  # kinds that are merged in editing, never culled
THUMB = 64  # long side of the grey thumbnail kept for geometry
GRID = 4  # cells per side of the sharpness grid
PANO_STEP = 0.2  # shift (fraction of the frame) from which consecutive frames are panorama steps, not a burst
PIX = 48  # side of the squashed thumbnail whose fine detail tells copies from lookalikes
COLOUR = 32  # long side of the colour thumbnail kept for telling one scene from another
# Frames of one scene: half the frame is found again in the other frame, in the same colours, within a tenth of
# the frame of where it was (the subject or the camera moved a little). Compared on a SCENE_CELLS-square grid of
# mean colours, each frame's lightness taken from its mean (auto exposure drifts between frames).
SCENE_CELLS = 10
# on ../shared/data (tools/group_precision.py): the lead's check's frames 1 s apart in one clip differ by <= 3.2,
# but for a handheld pan (4.6); 99 % of neighbouring eye photos (different people) differ by more than 5.5
SCENE_DE = 5.0  # colour difference (CIE76 delta E) from which two frames are two scenes


@dataclass
class GroupInput:
    """What grouping needs of one photo; every field but `key` may be missing."""

    key: str
    time: float | None = None  # capture time, s since the epoch
    camera: str | None = None
    exposure_bias: float | None = None  # EV
    exposure_time: float | None = None
    f_number: float | None = None
    iso: float | None = None
    focal_length: float | None = None
    pixels: int | None = None
    embedding: np.ndarray | None = None
    thumb: np.ndarray | None = None  # grey uint8, long side THUMB
    colour: np.ndarray | None = None  # CIELAB uint8 (OpenCV's 8-bit encoding), long side COLOUR
    sharp_grid: np.ndarray | None = None  # GRID x GRID log10 Laplacian energy
    quality: float | None = None  # the 1-10 score
    blurred: bool = False
    eyes_closed: bool = False
    badly_exposed: bool = False
    sharpness: float | None = None
    subject: float | None = None  # p(an animal is in the frame), the appeal analyzer's
    people: int | None = None  # faces large enough to be the subject (appeal analyzer)


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


# --- the analyzer side: a thumbnail and a sharpness grid, computed where the frame is already decoded ----------


class GroupFeatures(Analyzer):
    """Keeps a small grey thumbnail and a grid of local sharpness for panorama and focus-stack detection, and a
    smaller colour one that tells frames of one scene from neighbours that only look alike (same_scene)."""

    name = "group"
    version = "2"  # 2: the colour thumbnail

    def analyze(self, frame: Frame) -> Finding:
        thumb, grid = frame_features(frame.grey, frame.grey_shrunk)
        colour = colour_thumb(frame.rgb, frame.shrunk)
        return Finding(self.name, self.version, None, weight=0.0,
                       data={"thumb": base64.b64encode(thumb.tobytes()).decode(), "thumb_shape": list(thumb.shape),
                             "sharp_grid": np.round(grid, 3).tolist(),
                             "colour": base64.b64encode(colour.tobytes()).decode(), "colour_shape": list(colour.shape)})


def read_features(it: GroupInput, data: dict) -> None:
    """Fill `it` from a GroupFeatures finding's data (one written by any version)."""
    if "thumb" in data:
        it.thumb = np.frombuffer(base64.b64decode(data["thumb"]), np.uint8).reshape(data["thumb_shape"])
        it.sharp_grid = np.asarray(data["sharp_grid"], np.float32)
    if "colour" in data:
        it.colour = np.frombuffer(base64.b64decode(data["colour"]), np.uint8).reshape(data["colour_shape"])


@hookimpl
def keepers_analyzers(settings):
    return [GroupFeatures()]


def frame_features(grey: np.ndarray, shrink=None) -> tuple[np.ndarray, np.ndarray]:
    """Grey float [0,1] image -> (uint8 thumbnail with long side THUMB, GRID x GRID log10 Laplacian energy).
    `shrink((w, h))`: `grey` shrunk by area averaging, when the caller has a cheaper way (Frame.grey_shrunk)."""
    h, w = grey.shape
    s = THUMB / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    thumb = shrink(size) if shrink is not None else area_resize(grey, size)
    lap = cv2.Laplacian(np.asarray(grey, np.float32), cv2.CV_32F, ksize=3)  # no copy of a float32 frame
    e = area_resize(lap * lap, (GRID, GRID))  # the mean over each cell
    return np.clip(thumb * 255 + 0.5, 0, 255).astype(np.uint8), np.log10(e + 1e-7)


def colour_thumb(rgb: np.ndarray, shrink=None) -> np.ndarray:
    """RGB uint8 image -> CIELAB uint8 thumbnail with long side COLOUR (OpenCV's 8-bit Lab: L*x255/100, a*+128,
    b*+128). `shrink((w, h))`: `rgb` shrunk by area averaging, when the caller has a cheaper way (Frame.shrunk)."""
    h, w = rgb.shape[:2]
    s = COLOUR / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = shrink(size) if shrink is not None else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(np.ascontiguousarray(small, np.uint8), cv2.COLOR_RGB2LAB)


# --- grouping ---------------------------------------------------------------------------------------------------

_NAME = re.compile(r"^(.*?)(\d+)(\D*)$")


def _name_key(key: str) -> tuple[str, str, int, str]:
    """(folder, prefix, counter, suffix) of a file name: IMG_0042.CR3 -> (dir, 'IMG_', 42, '')."""
    folder, base = os.path.split(key)
    stem = os.path.splitext(base)[0]
    m = _NAME.match(stem)
    return (folder, m[1], int(m[2]), m[3]) if m else (folder, stem, -1, "")


def _exposure(it: GroupInput) -> float | None:
    """Light captured, in EV (higher = brighter capture), from shutter, aperture and ISO."""
    if it.exposure_time and it.f_number and it.iso:
        return math.log2(it.exposure_time * it.iso / (it.f_number ** 2))
    return None


def _similarities(emb: np.ndarray, have: np.ndarray, threshold: float, block: int = 2048):
    """Pairs (i<j) with cosine >= threshold and their cosines, from one product per row block (memory stays
    O(block * n))."""
    rows, cols, sims = [np.zeros(0, int)], [np.zeros(0, int)], [np.zeros(0, np.float32)]
    idx = np.flatnonzero(have)
    e = emb[idx]
    for start in range(0, len(idx), block):
        s = e[start:start + block] @ e[start:].T  # only the upper triangle: pairs are symmetric
        i, j = np.nonzero(s >= threshold)
        keep = i < j
        i, j = i[keep], j[keep]
        rows.append(idx[i + start]), cols.append(idx[j + start]), sims.append(s[i, j])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)


def _phase_shift(a: np.ndarray, b: np.ndarray, peaks: int = 4) -> tuple[float, float, float]:
    """Shift of b against a (b(x) = a(x - d)) as fractions of width and height, and the correlation of the
    overlap. Phase correlation proposes shifts (each peak stands for four, as the transform wraps around); the
    overlap that agrees best, covering at least a quarter of the frame, wins."""
    if a.shape != b.shape:
        return 0.0, 0.0, 0.0
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    aligned = _ncc(fa, fb)
    if aligned >= 0.95:  # already in register (most bursts): no shift to look for
        return 0.0, 0.0, aligned
    cross = np.fft.rfft2(fb - fb.mean()) * np.conj(np.fft.rfft2(fa - fa.mean()))
    r = np.fft.irfft2(cross / np.maximum(np.abs(cross), 1e-6), s=fa.shape)
    h, w = fa.shape
    best = (0.0, 0.0, -1.0)
    for k in np.argpartition(r.ravel(), -peaks)[-peaks:]:
        py, px = divmod(int(k), w)
        for dy in {py, py - h}:
            for dx in {px, px - w}:
                if (h - abs(dy)) * (w - abs(dx)) < 0.25 * h * w:
                    continue
                oa = fa[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
                ob = fb[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
                c = _ncc(oa, ob)
                if c > best[2]:
                    best = (dx / w, dy / h, c)
    return best


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    a, b = a - a.mean(), b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def _parse_time(value: str | None) -> float | None:
    """ISO 8601 capture time -> epoch seconds; None for missing or placeholder dates (0000:00:00 and the like)."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return None
    if t.year < 1971:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


def _neighbours(items: list[GroupInput], nk: list[tuple]) -> list[tuple[int, int, str, float]]:
    """Candidate pairs (i, j, 'time' | 'name', seconds apart): each frame with the next two of its sequence."""
    out = []
    timed = sorted((i for i, it in enumerate(items) if it.time is not None),
                   key=lambda i: (items[i].camera or "", items[i].time, items[i].key))
    for p, i in enumerate(timed):
        for j in timed[p + 1:p + 3]:
            dt = items[j].time - items[i].time
            if items[j].camera == items[i].camera and dt <= SET_GAP:
                out.append((i, j, "time", dt))
    names = sorted(range(len(items)), key=nk.__getitem__)
    keys = [nk[i][:2] for i in names]
    for p, i in enumerate(names):
        for q in range(p + 1, min(p + 3, len(names))):
            j = names[q]
            if keys[q] == keys[p] and (items[i].time is None or items[j].time is None):
                out.append((i, j, "name", math.inf))
    return out


def _exposure_step(a: GroupInput, b: GroupInput) -> float:
    """How far apart two frames' exposures are, in EV (0 when unknown)."""
    step = 0.0
    if a.exposure_bias is not None and b.exposure_bias is not None:
        step = abs(a.exposure_bias - b.exposure_bias)
    ea, eb = _exposure(a), _exposure(b)
    if ea is not None and eb is not None:
        step = max(step, abs(ea - eb) - 0.3)  # auto exposure drifts by a fraction of a stop between frames
    return step


def _same_lens(a: GroupInput, b: GroupInput) -> bool:
    fa, fb = a.focal_length, b.focal_length
    return fa is None or fb is None or abs(fa - fb) <= 0.02 * max(fa, fb)


def _focus_moves(grids: list[np.ndarray]) -> bool:
    """True when at least two frames are each clearly the sharpest (x1.6) somewhere that has detail."""
    g = np.stack([x.ravel() for x in grids])
    best = g.max(0)
    detail = best >= np.median(best)
    order = np.sort(g, 0)
    margin = order[-1] - order[-2]
    winners = set(np.argmax(g, 0)[detail & (margin >= 0.2)].tolist())
    return len(winners) >= 2


def _alike(a: GroupInput, b: GroupInput, sim: float | None, threshold: float) -> bool:
    """Similar enough to be frames of one burst: by embedding, or by thumbnail correlation when one is missing."""
    if sim is not None:
        return sim >= threshold
    if a.thumb is not None and b.thumb is not None:
        return _ncc(cv2.resize(a.thumb, (32, 32)), cv2.resize(b.thumb, (32, 32))) >= T_NCC
    return False


def _set_link(a: GroupInput, b: GroupInput, sim: float | None) -> bool:
    """Frames up to SET_GAP apart belong together as a bracket, a panorama step or a focus-stack step: views of
    one scene (cosine >= T_SET) with one lens, whose exposure, framing or focus differ in the way of each."""
    if not _same_lens(a, b) or (sim is not None and sim < T_SET):
        return False
    if _exposure_step(a, b) >= 0.6:  # a bracket
        if a.thumb is None or b.thumb is None:
            return sim is not None
        return sim is not None or _ncc(cv2.resize(a.thumb, (32, 32)), cv2.resize(b.thumb, (32, 32))) >= 0.7
    if a.thumb is None or b.thumb is None:
        return False
    if a.sharp_grid is not None and b.sharp_grid is not None and _focus_moves([a.sharp_grid, b.sharp_grid]):
        return _still(_phase_shift(a.thumb, b.thumb))  # a focus-stack step
    return _sweep_step(_phase_shift(a.thumb, b.thumb))  # a panorama step


class _Shoot:
    """The photos being grouped, with their normalised embeddings and lazily computed pixel descriptors."""

    def __init__(self, items: list[GroupInput]):
        self.items, n = items, len(items)
        dim = max((np.asarray(it.embedding).size for it in items if it.embedding is not None), default=0)
        self.emb, self.have = np.zeros((n, max(dim, 1)), np.float32), np.zeros(n, bool)
        for i, it in enumerate(items):
            v = None if it.embedding is None else np.asarray(it.embedding, np.float32).ravel()
            if v is not None and v.size == dim and np.linalg.norm(v) > 0:
                self.emb[i], self.have[i] = v / np.linalg.norm(v), True
        self.names = [_name_key(it.key) for it in items]
        self._pix: dict[int, np.ndarray | None] = {}
        self._cells: dict[tuple[int, bool], np.ndarray] = {}
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = i = self.parent[self.parent[i]]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)

    def roots(self) -> np.ndarray:
        """Every photo's group root at once (find() for all, as one array)."""
        p = np.asarray(self.parent)
        while True:
            q = p[p]
            if np.array_equal(q, p):
                return p
            p = q

    def sim(self, i: int, j: int) -> float | None:
        return float(self.emb[i] @ self.emb[j]) if self.have[i] and self.have[j] else None

    def pixels(self, i: int) -> np.ndarray | None:
        """The 8 flips and quarter turns of the squashed, high-passed thumbnail, each zero-mean unit-norm."""
        if i not in self._pix:
            t = self.items[i].thumb
            self._pix[i] = None if t is None else _dihedral(t)
        return self._pix[i]

    def versions(self, i: int, j: int) -> bool:
        """Versions of one capture: one folder, one file-name counter (IMG_0042.jpg, IMG_0042-edit.jpg)."""
        return self.names[i][:3] == self.names[j][:3] and self.names[i][2] >= 0

    def cells(self, i: int, colour: bool) -> np.ndarray:
        """The photo's mean colours (L* less its mean, a*, b*) on a SCENE_CELLS-square grid, row by row; or its
        lightness alone (from the grey thumbnail, a* = b* = 0)."""
        if (i, colour) not in self._cells:
            it, size = self.items[i], (SCENE_CELLS, SCENE_CELLS)
            if colour:
                c = cv2.resize(it.colour.astype(np.float32), size, interpolation=cv2.INTER_AREA)
                c = (c - np.float32([0, 128, 128])) * np.float32([100 / 255, 1, 1])
            else:
                g = cv2.resize(it.thumb.astype(np.float32), size, interpolation=cv2.INTER_AREA) * np.float32(100 / 255)
                c = np.stack([g, np.zeros_like(g), np.zeros_like(g)], -1)
            c[..., 0] -= c[..., 0].mean()  # exposure drifts between frames: a scene's light and colours hold
            self._cells[i, colour] = c.reshape(-1, 3)
        return self._cells[i, colour]

    def same_scene(self, i: int, j: int) -> bool:
        """Frames of one scene (see SCENE_DE), in colour where both have it, else in lightness; True when one has
        no pixels to tell."""
        a, b = self.items[i], self.items[j]
        colour = a.colour is not None and b.colour is not None
        if not colour and (a.thumb is None or b.thumb is None):
            return True
        return _scene_gap(self.cells(i, colour), self.cells(j, colour)) < SCENE_DE

    def copy_score(self, i: int, j: int) -> float | None:
        """Correlation of fine detail between two photos, allowing flips, quarter turns and aspect changes:
        ~1 for copies of one image; lower for two shots of a scene, however alike (the camera or subject moved)."""
        a, b = self.pixels(i), self.pixels(j)
        return None if a is None or b is None else float((b @ a[0]).max())


def _near_cells(n: int) -> np.ndarray:
    """0 where two cells of an n x n grid (row by row) are at most one cell apart, inf elsewhere."""
    y, x = np.divmod(np.arange(n * n), n)
    near = (np.abs(y[:, None] - y) <= 1) & (np.abs(x[:, None] - x) <= 1)
    return np.where(near, 0.0, np.inf).astype(np.float32)


_NEAR = _near_cells(SCENE_CELLS)


def _scene_gap(a: np.ndarray, b: np.ndarray) -> float:
    """How far two photos are from framing one scene: the colour difference (delta E) within which half of each
    one's cells find a cell of the other at most one cell away; the larger of the two ways. `a`, `b`: cells()."""
    # squared differences, cell of a x cell of b: |a|^2 + |b|^2 - 2 a.b (one product, not a 100 x 100 x 3 array)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1) - 2 * a @ b.T + _NEAR
    half = len(a) // 2
    return float(np.sqrt(max(np.partition(np.stack([d.min(1), d.min(0)]), half, axis=1)[:, half].max(), 0.0)))


def _dihedral(thumb: np.ndarray) -> np.ndarray:
    x = cv2.resize(thumb.astype(np.float32), (PIX, PIX), interpolation=cv2.INTER_AREA)
    x = x - cv2.GaussianBlur(x, (0, 0), PIX / 16)  # fine detail only: robust to re-encoding and exposure tweaks
    v = np.stack([np.rot90(y, k).ravel() for y in (x, x[:, ::-1]) for k in range(4)])
    v -= v.mean(1, keepdims=True)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, np.inf)


def group(items: list[GroupInput]) -> list[Group]:
    """Group a shoot; photos that belong to no group are left out."""
    if len(items) < 2:
        return []
    shoot = _Shoot(items)
    # 1. neighbours in time (same camera) or in file-name order that look alike and frame one scene (looking
    # alike is not enough: any two faces, any two beaches look alike to the embedding); versions of one capture
    # (IMG_0042.jpg, IMG_0042-edit.jpg) may be edited past that
    for i, j, how, dt in _neighbours(items, shoot.names):
        if shoot.find(i) == shoot.find(j):
            continue
        sim = shoot.sim(i, j)
        alike = _alike(items[i], items[j], sim, T_SEQ if how == "name" else T_BURST)
        burst = (how == "name" or dt <= BURST_GAP) and alike and (shoot.versions(i, j) or shoot.same_scene(i, j))
        if burst or (how == "time" and _set_link(items[i], items[j], sim)):
            shoot.union(i, j)
    # 2. copies anywhere: one product over the shoot finds the candidates, fine detail confirms them
    rows, cols, sims = _similarities(shoot.emb, shoot.have, T_CAND)
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


def _make_group(shoot: _Shoot, idx: list[int]) -> Group:
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
    pick, why = _pick(members, kind)
    alternates = [k for k in keys if k != pick.key] if kind in CULLED else []
    return Group(gid, kind, keys, pick.key, why, alternates)


def _kind(shoot: _Shoot, idx: list[int]) -> str:
    members = [shoot.items[i] for i in idx]
    timed = [m for m in members if m.time is not None]
    if len(timed) >= 2 and len({m.camera for m in timed}) == 1:
        if max(_exposure_step(a, b) for a in timed for b in timed) >= 0.6:
            return "bracket"
        if all(m.thumb is not None for m in timed):
            pairs = list(zip(timed, timed[1:]))
            first = _phase_shift(pairs[0][0].thumb, pairs[0][1].thumb)  # most groups are settled by one pair
            if _sweep_step(first):
                shifts = [first] + [_phase_shift(a.thumb, b.thumb) for a, b in pairs[1:]]
                axis = 0 if sum(abs(s[0]) for s in shifts) >= sum(abs(s[1]) for s in shifts) else 1
                if all(_sweep_step(s) for s in shifts) and len({np.sign(s[axis]) for s in shifts}) == 1:
                    return "panorama"  # one sweep direction
            elif (_still(first) and all(m.sharp_grid is not None for m in timed)
                  and _focus_moves([m.sharp_grid for m in timed])
                  and all(_still(_phase_shift(a.thumb, b.thumb)) for a, b in pairs[1:])):
                return "focus_stack"
    if len({m.time for m in timed}) <= 1:  # no two capture moments: copies of one photo?
        if len({shoot.names[i][:3] for i in idx}) == 1:  # IMG_0042.jpg, IMG_0042-edit.jpg, IMG_0042 (2).jpg
            return "duplicate"
        if len(idx) <= 12 and all((shoot.copy_score(i, j) or 0.0) >= T_PIX for i in idx for j in idx if i < j):
            return "duplicate"
    return "burst"


def _sweep_step(shift: tuple[float, float, float]) -> bool:
    """A panorama step: the view moved by a good part of the frame, and the overlap agrees."""
    return max(abs(shift[0]), abs(shift[1])) >= PANO_STEP and shift[2] >= 0.6


def _still(shift: tuple[float, float, float]) -> bool:
    """The same framing (a tripod): hardly any shift, and the frames agree."""
    return max(abs(shift[0]), abs(shift[1])) < 0.03 and shift[2] >= 0.9


def _sharpness(m: GroupInput) -> float:
    if m.sharpness is not None:
        return float(m.sharpness)
    if m.sharp_grid is not None:  # the subject is where the detail is: the sharpest quarter of the frame
        g = np.sort(np.asarray(m.sharp_grid).ravel())
        return float(g[-max(1, g.size // 4):].mean())
    return 0.0


def _pick(members: list[GroupInput], kind: str) -> tuple[GroupInput, str]:
    n = len(members)
    if kind == "bracket":
        ev = [m.exposure_bias if m.exposure_bias is not None else (_exposure(m) or 0.0) for m in members]
        mid = float(np.median(ev)) if members[0].exposure_bias is None else 0.0
        p = min(range(n), key=lambda i: (abs(ev[i] - mid), abs(i - (n - 1) / 2)))
        steps = "/".join(f"{x:+g}" for x in sorted({round(x, 1) for x in ev}))
        what = f" ({steps} EV)" if members[0].exposure_bias is not None else ""
        return members[p], f"metered exposure of a {n}-frame bracket{what}; brackets are merged (HDR), not culled"
    if kind == "panorama":
        return members[(n - 1) // 2], f"middle frame of a {n}-frame panorama sweep; panorama frames are stitched, not culled"
    sharp = [_sharpness(m) for m in members]
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


SUBJECT_GROUP = 0.3  # a burst whose median frame is this sure of an animal is a burst of that animal
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


# --- from pipeline results --------------------------------------------------------------------------------------

def _flag(codes: set[str], *words: str) -> bool:
    return any(w in c for c in codes for w in words)


def group_input(result) -> GroupInput:
    """A judged pipeline Result (photo, meta, findings, verdict) -> GroupInput; quality is its judgement's score."""
    meta, findings = result.meta, result.findings or []
    it = GroupInput(key=result.photo.path)
    if meta is not None:
        it.time = _parse_time(meta.capture_time)
        it.camera = " ".join(x for x in (meta.make, meta.model) if x) or None
        it.exposure_bias, it.exposure_time, it.f_number = meta.exposure_bias, meta.exposure_time, meta.f_number
        it.iso, it.focal_length = meta.iso, meta.focal_length
        it.pixels = meta.width * meta.height if meta.width and meta.height else None
    for f in findings:
        if f.data.get("embedding") is not None and f.analyzer == "embedding":
            it.embedding = np.asarray(f.data["embedding"], np.float32)
        if f.analyzer == GroupFeatures.name:
            read_features(it, f.data)
        if f.analyzer == "appeal":
            it.subject = f.features.get("subject")
            it.people = int(f.features["people"]) if "people" in f.features else None
        if f.analyzer == "sharpness" and "blur_best" in f.features:
            it.sharpness = -float(f.features["blur_best"])  # the blur (log px) of the sharpest region: less is sharper
    # only flaws that matter (severity >= 0.3) disqualify a frame from being the pick
    codes = {r.code for f in findings for r in f.reasons if r.severity >= 0.3}
    it.blurred = _flag(codes, "blur", "focus", "shake")
    it.eyes_closed = _flag(codes, "closed_eyes", "blink")
    it.badly_exposed = _flag(codes, "expos", "highlight", "shadow", "dark", "bright")
    it.quality = result.verdict.score if getattr(result, "verdict", None) is not None else None
    return it


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
    """Copy a photo's group into its verdict: group id, pick, keywords (group|burst, group|alternate...), and for
    an alternate a zero-cost reason saying which frame won and why; its score and stars stay its own."""
    if m is None:
        return verdict
    verdict.group, verdict.pick = m.group, m.pick
    words = {f"group|{m.kind.replace('_', ' ')}"}
    if m.alternate:
        words.add("group|alternate")
        verdict.reasons.append(Reason("alternate", m.why, 0.0))
    elif m.pick and m.kind in CULLED:
        words.add("group|pick")
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
