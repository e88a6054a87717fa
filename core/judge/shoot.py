"""The photos of one shoot being grouped: their normalised embeddings and union-find of who is together, candidate
neighbours in time and in file-name order, and the links that join frames (one burst; a bracket, panorama or
focus-stack step). core/judge/group.py runs the grouping on these."""

from __future__ import annotations

import math
import os
import re

import cv2
import numpy as np

from keepers.core.judge.likeness import (SCENE_CELLS, SCENE_DE, dihedral, focus_moves, ncc, phase_shift, scene_gap,
                                        still, sweep_step)
from keepers.core.judge.shot import GroupInput, cielab

SET_GAP = 10.0  # s between frames of a bracket, panorama or focus stack (tripod work is slower)
T_NCC = 0.85  # thumbnail correlation standing in for the cosine when a photo has no embedding
T_SET = 0.45  # cosine for views of one scene whose exposure (bracket) or framing (panorama) differ a lot

_NAME = re.compile(r"^(.*?)(\d+)(\D*)$")


def name_key(key: str) -> tuple[str, str, int, str]:
    """(folder, prefix, counter, suffix) of a file name: IMG_0042.CR3 -> (dir, 'IMG_', 42, '')."""
    folder, base = os.path.split(key)
    stem = os.path.splitext(base)[0]
    m = _NAME.match(stem)
    return (folder, m[1], int(m[2]), m[3]) if m else (folder, stem, -1, "")


def exposure(it: GroupInput) -> float | None:
    """Light captured, in EV (higher = brighter capture), from shutter, aperture and ISO."""
    if it.exposure_time and it.f_number and it.iso:
        return math.log2(it.exposure_time * it.iso / (it.f_number ** 2))
    return None


def similarities(emb: np.ndarray, have: np.ndarray, threshold: float, block: int = 2048):
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


def neighbours(items: list[GroupInput], nk: list[tuple]) -> list[tuple[int, int, str, float]]:
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


def exposure_step(a: GroupInput, b: GroupInput) -> float:
    """How far apart two frames' exposures are, in EV (0 when unknown)."""
    step = 0.0
    if a.exposure_bias is not None and b.exposure_bias is not None:
        step = abs(a.exposure_bias - b.exposure_bias)
    ea, eb = exposure(a), exposure(b)
    if ea is not None and eb is not None:
        step = max(step, abs(ea - eb) - 0.3)  # auto exposure drifts by a fraction of a stop between frames
    return step


def same_lens(a: GroupInput, b: GroupInput) -> bool:
    fa, fb = a.focal_length, b.focal_length
    return fa is None or fb is None or abs(fa - fb) <= 0.02 * max(fa, fb)


def look_alike(a: GroupInput, b: GroupInput, sim: float | None, threshold: float) -> bool:
    """Similar enough to be frames of one burst: by embedding, or by thumbnail correlation when one is missing."""
    if sim is not None:
        return sim >= threshold
    if a.thumb is not None and b.thumb is not None:
        return ncc(cv2.resize(a.thumb, (32, 32)), cv2.resize(b.thumb, (32, 32))) >= T_NCC
    return False


def set_link(a: GroupInput, b: GroupInput, sim: float | None) -> bool:
    """Frames up to SET_GAP apart belong together as a bracket, a panorama step or a focus-stack step: views of
    one scene (cosine >= T_SET) with one lens, whose exposure, framing or focus differ in the way of each."""
    if not same_lens(a, b) or (sim is not None and sim < T_SET):
        return False
    if exposure_step(a, b) >= 0.6:  # a bracket
        if a.thumb is None or b.thumb is None:
            return sim is not None
        return sim is not None or ncc(cv2.resize(a.thumb, (32, 32)), cv2.resize(b.thumb, (32, 32))) >= 0.7
    if a.thumb is None or b.thumb is None:
        return False
    if a.sharp_grid is not None and b.sharp_grid is not None and focus_moves([a.sharp_grid, b.sharp_grid]):
        return still(phase_shift(a.thumb, b.thumb))  # a focus-stack step
    return sweep_step(phase_shift(a.thumb, b.thumb))  # a panorama step


class Shoot:
    """The photos being grouped, with their normalised embeddings and lazily computed pixel descriptors."""

    def __init__(self, items: list[GroupInput]):
        self.items, n = items, len(items)
        dim = max((np.asarray(it.embedding).size for it in items if it.embedding is not None), default=0)
        self.emb, self.have = np.zeros((n, max(dim, 1)), np.float32), np.zeros(n, bool)
        for i, it in enumerate(items):
            v = None if it.embedding is None else np.asarray(it.embedding, np.float32).ravel()
            if v is not None and v.size == dim and np.linalg.norm(v) > 0:
                self.emb[i], self.have[i] = v / np.linalg.norm(v), True
        self.names = [name_key(it.key) for it in items]
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
            self._pix[i] = None if t is None else dihedral(t)
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
                c = cielab(cv2.resize(it.colour.astype(np.float32), size, interpolation=cv2.INTER_AREA))
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
        return scene_gap(self.cells(i, colour), self.cells(j, colour)) < SCENE_DE

    def copy_score(self, i: int, j: int) -> float | None:
        """Correlation of fine detail between two photos, allowing flips, quarter turns and aspect changes:
        ~1 for copies of one image; lower for two shots of a scene, however alike (the camera or subject moved)."""
        a, b = self.pixels(i), self.pixels(j)
        return None if a is None or b is None else float((b @ a[0]).max())
