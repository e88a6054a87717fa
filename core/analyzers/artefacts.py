"""Artefacts the quality head's inputs do not see: salt-and-pepper specks, posterised tones, pixelation, flat blocks
of colour pasted over the picture. Each is what a damaged, over-processed or blown-up file shows, and each is a
reason a photographer recognises; the judging step prices them (core/judge/prices.py: PENALTY).

Measured on the analysis image's luma (and its colour histograms), a few ms at 1024 px:
- specks: pixels that stand out from all 8 neighbours by more than 50 levels and are near black or white (a clean
  photo's fine detail is never alone in its neighbourhood; a star or a glint is rarely that alone at analysis size);
- posterised: the colour histograms are combs (a few levels filled, the ones between them empty), measured as how
  far each histogram is from its own smoothed self;
- pixelated: columns and rows identical to their neighbour (a block enlarged by repeating pixels), against the
  strongest step nearby;
- pasted blocks: flat (no grain at all), unclipped, square-ish regions that fill their bounding box.
The thresholds were chosen on KADID-10k copies of clean TRAINING photos (core/lab/kadid.py) against those photos'
originals; docs/eval.md ("Artefacts the head cannot see") has the figures.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.types import Finding, Frame, Reason

MIN_SIDE = 32
_RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], np.uint8)  # the 8 neighbours
SPECK, CALM = 50, 40  # levels a speck stands out from every neighbour; the most its neighbours differ
# measure -> (level where the flaw starts, level where it is as bad as it gets); severity between them (log for
# specks: a few hundred specks are already plainly visible). Clean training photos stay below every start (but see
# docs/eval.md for the few that do not); KADID's level 2-3 copies pass it
RANGE = {"specks": (0.0005, 0.015), "posterised": (0.1, 0.2), "pixelated": (0.18, 0.6), "blocks": (0.005, 0.025)}
REASONS = {
    "specks": ("impulse_noise", "Salt-and-pepper specks: isolated black and white pixels (hot pixels, a damaged file)"),
    "posterised": ("posterised", "Posterised: smooth tones broken into flat bands (too few colour levels)"),
    "pixelated": ("pixelated", "Pixelated: blocky, as if enlarged from a much smaller image"),
    "blocks": ("pasted_blocks", "Flat blocks of colour over the picture (a damaged or badly edited file)"),
}


def specks(grey: np.ndarray) -> float:
    """Share of pixels near black or white that stand out by SPECK levels from all 8 neighbours, where those
    neighbours are calm (within CALM levels of each other): a speck on sky, skin or wall. Foliage, fur and fabric
    have bright and dark points too, but among busy neighbours."""
    top, low = cv2.dilate(grey, _RING), cv2.erode(grey, _RING)  # uint8 throughout (saturating): ~0.3 ms at 1024 px
    hi = cv2.bitwise_and(cv2.compare(cv2.subtract(grey, top), SPECK, cv2.CMP_GT), cv2.compare(grey, 200, cv2.CMP_GE))
    lo = cv2.bitwise_and(cv2.compare(cv2.subtract(low, grey), SPECK, cv2.CMP_GT), cv2.compare(grey, 55, cv2.CMP_LE))
    calm = cv2.compare(cv2.subtract(top, low), CALM, cv2.CMP_LE)
    return float(cv2.countNonZero(cv2.bitwise_and(cv2.bitwise_or(hi, lo), calm))) / grey.size


def posterised(rgb: np.ndarray) -> float:
    """How comb-like the most comb-like colour histogram is, between the channel's 1st and 99th percentile, by two
    readings that must agree: half the L1 distance of the histogram from its 9-level moving average (each level
    capped at twice the mean: a backdrop's one tall peak is no comb), and 1.6 x the share of levels holding less than
    half of the highest level on either side within 4 (a valley between teeth). ~0.03 for a photo; 0.08-0.13 with
    KADID's 8-64 colours, even after a JPEG has spread each level."""
    out = 0.0
    for c in range(3):
        h = cv2.calcHist([rgb], [c], None, [256], [0, 256]).ravel()
        cdf = np.cumsum(h) / max(float(h.sum()), 1.0)
        lo, hi = int(np.searchsorted(cdf, 0.01)), int(np.searchsorted(cdf, 0.99))
        if hi - lo < 16:  # a few levels wide: nothing to break into bands
            continue
        hp = np.pad(h, 4, mode="edge")
        left = np.max([hp[4 - k : 260 - k] for k in range(1, 5)], axis=0)
        right = np.max([hp[4 + k : 260 + k] for k in range(1, 5)], axis=0)
        valleys = float(np.mean((h < 0.5 * np.minimum(left, right))[lo : hi + 1]))
        h = np.minimum(h[lo : hi + 1], 2 * h[lo : hi + 1].mean())
        d = np.abs(h - np.convolve(np.pad(h, 4, mode="edge"), np.ones(9) / 9, mode="valid")).sum()
        out = max(out, min(float(d / (2 * h.sum())), 1.6 * valleys))
    return out


def pixelated(grey: np.ndarray) -> float:
    """Share of columns and rows that barely differ from the next (mean step < 1/4 of the largest within 4), among
    those with some detail nearby (a black backdrop's columns are all alike without being blocks)."""
    share = 0.0
    for axis in (0, 1):
        a, b = (grey[:, 1:], grey[:, :-1]) if axis else (grey[1:], grey[:-1])
        c = cv2.reduce(cv2.absdiff(a, b), 1 - axis, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
        near = cv2.dilate(c.reshape(1, -1), np.ones((1, 9), np.uint8)).ravel()  # the largest step within 4
        busy = near >= 1.0
        share += float(np.count_nonzero(busy & (c < 0.25 * near))) / max(int(np.count_nonzero(busy)), 1) / 2
    return share


def blocks(grey: np.ndarray) -> float:
    """Share of the frame in flat (no step over 1 level in any 3x3), unclipped, square-ish regions that fill 85 % of
    their box, at half size (a blur or a sky's gradient steps more; a noise-free wall is not square)."""
    h, w = grey.shape[0] // 2, grey.shape[1] // 2
    small = cv2.resize(grey[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)  # even sides: OpenCV's fast path
    step = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    flat = cv2.bitwise_and(cv2.compare(step, 1, cv2.CMP_LE), cv2.inRange(small, 7, 248))
    if cv2.countNonZero(flat) < 40:
        return 0.0
    _, _, st, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    bw, bh, a = st[1:, 2].astype(float), st[1:, 3].astype(float), st[1:, 4].astype(float)
    ok = (a >= 40) & (bw >= 6) & (bh >= 6) & (a >= 0.85 * bw * bh) & (bw * bh <= 0.1 * small.size) & (
        bw <= 2 * bh) & (bh <= 2 * bw)
    return float(a[ok].sum()) / small.size


def severity(kind: str, x: float) -> float:
    lo, hi = RANGE[kind]
    if x <= lo:
        return 0.0
    t = np.log(x / lo) / np.log(hi / lo) if kind == "specks" else (x - lo) / (hi - lo)
    return round(float(min(1.0, max(0.05, t))), 3)


def measure(frame: Frame) -> dict[str, float]:
    grey = frame.grey8
    return {"specks": specks(grey), "posterised": posterised(frame.rgb), "pixelated": pixelated(grey),
            "blocks": blocks(grey)}


def finding(m: dict[str, float], version: str = "1", weight: float = 0.5) -> Finding:
    """The finding for measures `m`: a reason per artefact past its start, its severity how far past."""
    reasons = []
    for kind, x in m.items():
        s = severity(kind, x)
        if s > 0:
            reasons.append(Reason(REASONS[kind][0], REASONS[kind][1], s))
    worst = max((r.severity for r in reasons), default=0.0)
    return Finding("artefacts", version, 1.0 - 0.6 * worst, reasons, weight=weight,
                   features={f"artefact_{k}": round(v, 5) for k, v in m.items()})


class ArtefactsAnalyzer(Analyzer):
    name = "artefacts"
    version = "1"
    weight = 0.5

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:
            return Finding(self.name, self.version, None)
        return finding(measure(frame), self.version, self.weight)
