"""Misfires: a finger, strap or lens cap over part of the frame, or a strong colour cast over one region (a light
leak, a finger over the flash). What Lightroom's Assisted Culling calls a misfire is a reject, whatever the rest.

Measured on a grid of 8x8 cells of a 256 px copy: each cell's luma, fine detail (mean |Laplacian|) and chroma
(log R/G and B/G in linear light). An occluder is a dark, featureless region that enters from one edge or corner
(a dark backdrop surrounds its subject instead: it touches opposite edges) while the rest of the frame is a normal
photo; a cast region is one where every colour is pushed the same strong way against the rest, detail intact.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.lab.distort import TO_LINEAR
from keepers.core.types import Frame

CELL, WIDTH = 8, 256
SHARE = (0.1, 0.55)  # of the frame: smaller is a detail, larger leaves no photo to speak of (blank, dark)
DARK, FLAT = 0.55, 0.15  # an occluder's luma and detail, as shares of the frame's 60th / 75th percentile cell
# an occluder's least solidity and transition width (see _solidity, _soft). Chosen on the clean photos (all sets:
# no clean photo should be a reject) against a dark fingertip drawn over their corner (tests/test_intent.py): 1 of
# 453 clean photos fires, 2 in 3 fingers are found (docs/eval.md)
SOLID, SOFT_PX = 0.75, 6.0
# a cast's log-chroma distance (2: 7x in R/G or B/G) from the rest, and its fade (px): a red pepper's shading turns
# in ~6 px, a leak fades over 13-20 (chosen as above: no clean photo fires, 2 in 3 drawn casts are found)
CAST, CAST_SOFT_PX = 2.0, 8.0
CAST_SHARE = (0.2, 0.6)


def small_size(frame: Frame) -> tuple[int, int]:
    """(width, height) of the 256 px copy the check reads, whole cells (the lens analyzer reads the same copy)."""
    h, w = frame.rgb.shape[:2]
    sw = min(WIDTH, w) // CELL * CELL
    return sw, max(CELL, round(h * sw / w) // CELL * CELL)


def _cells(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: luma (sRGB 0-1), detail, chroma (2 channels); and the 256 px luma."""
    sw, sh = small_size(frame)
    small = frame.shrunk((sw, sh))
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    size = (sw // CELL, sh // CELL)
    lum = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    det = cv2.resize(lap, size, interpolation=cv2.INTER_AREA)
    lin_small = TO_LINEAR[small] + 2e-3
    lin = cv2.resize(lin_small, size, interpolation=cv2.INTER_AREA)
    chroma = np.stack([np.log(lin[..., 0] / lin[..., 1]), np.log(lin[..., 2] / lin[..., 1])], -1)
    return lum, det, chroma, (grey, lin_small)


def _where(mask: np.ndarray, sides: bool = False) -> str | None:
    """"the lower-left corner", "the left edge"... where a region touches the border; None when it touches two
    opposite edges (it surrounds something, or crosses the frame) or none. With `sides`, a region along one whole
    side ("the left side") is one too: a cast fades in from a side."""
    top, bottom, left, right = mask[0].any(), mask[-1].any(), mask[:, 0].any(), mask[:, -1].any()
    if sides and (top and bottom) != (left and right):
        one = [n for n, t in (("left", left), ("right", right), ("top", top), ("bottom", bottom)) if t]
        if len(one) == 3:  # two opposite edges and one between them
            return "the " + next(n for n in one if {n, _OPPOSITE[n]} - set(one)) + " side"
    if (top and bottom) or (left and right) or not (top or bottom or left or right):
        return None
    v = "upper" if top else "lower" if bottom else ""
    hz = "left" if left else "right" if right else ""
    if v and hz:
        return f"the {v}-{hz} corner"
    return f"the {'top' if top else 'bottom' if bottom else hz} edge"


def _solidity(comp: np.ndarray) -> float:
    """Area over convex hull area: ~1 for a blob pushed in from outside (a fingertip, a strap), lower for a dark
    backdrop, night sky or water shaped by what stands in front of it."""
    pts = cv2.findNonZero(comp.astype(np.uint8))
    hull = cv2.convexHull(pts)
    return float(comp.sum()) / max(cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True) + 1.0, 1.0)


def _soft(grey: np.ndarray, comp: np.ndarray, rest: np.ndarray) -> float:
    """Width (px of the 256 px copy) of the transition from the region to the rest: the luma step over the
    steepest gradients along the boundary. A finger a few cm from the lens is far out of focus (10 px and more);
    a backdrop meets its subject in an edge as sharp as the photo (1-3 px)."""
    up = lambda m: cv2.resize(m.astype(np.uint8), grey.shape[::-1], interpolation=cv2.INTER_NEAREST)  # noqa: E731
    k = np.ones((2 * CELL + 1, 2 * CELL + 1), np.uint8)
    band = cv2.dilate(up(comp), k).astype(bool) & ~cv2.erode(up(comp), k).astype(bool)
    g = cv2.GaussianBlur(grey, (0, 0), 1.0)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=1, scale=0.5), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=1, scale=0.5))
    step = abs(float(np.median(grey[up(rest).astype(bool)]) - np.median(grey[up(comp).astype(bool)])))
    return step / max(float(np.percentile(mag[band], 95)), 1e-4) if band.any() else 0.0


_OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}


def _region(mask: np.ndarray, share: tuple[float, float], sides: bool = False) -> tuple[np.ndarray, str] | None:
    """The largest border-touching component of `mask` within `share` of the frame, and where it is."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    border = np.zeros_like(mask)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    best = None
    for i in range(1, n):
        comp = labels == i
        a = stats[i, cv2.CC_STAT_AREA] / mask.size
        if share[0] <= a <= share[1] and (comp & border).any() and (best is None or a > best[1]):
            best = (comp, a)
    if best is None:
        return None
    where = _where(best[0], sides)
    return (best[0], where) if where else None


def measure(frame: Frame) -> dict:
    """{"share": of the frame an occluder covers (0 if none), "where", "cast_share", "cast_where"}."""
    lum, det, chroma, (grey, lin_small) = _cells(frame)
    out = {"share": 0.0, "where": "", "cast_share": 0.0, "cast_where": ""}
    if min(lum.shape) < 4:
        return out
    # an occluder: dark and featureless against the frame's typical cell (its median), soft enough to hide detail
    cand = (lum < DARK * max(np.percentile(lum, 60), 0.1)) & (det < FLAT * max(np.percentile(det, 75), 1e-3))
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    found = _region(cand, SHARE)
    if found is not None:
        comp, where = found
        rest = ~cv2.dilate(comp.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        # the rest is a photo: detail there, and lit (a dark scene with one darker corner is no misfire)
        if rest.sum() >= 0.3 * rest.size and np.median(det[rest]) >= 4 * np.median(det[comp]) \
                and np.median(lum[rest]) >= 1.7 * max(np.median(lum[comp]), 0.02) \
                and _solidity(comp) >= SOLID and _soft(grey, comp, rest) >= SOFT_PX:
            out["share"], out["where"] = float(comp.mean()), where
    # a cast: cells whose chroma is far from the frame's median chroma, all pushed the same way
    centre = np.median(chroma.reshape(-1, 2), axis=0)
    away = np.linalg.norm(chroma - centre, axis=-1) >= CAST
    found = _region(away, CAST_SHARE, sides=True)
    if found is not None and not found[1].endswith("edge"):  # a leak or a lit finger comes in over a corner or side
        comp, where = found
        inside, rest = chroma[comp], chroma[~comp]
        shift = np.median(inside, axis=0) - np.median(rest, axis=0)
        # the colours inside keep their spread (a cast over a scene, not one coloured object), detail too
        spread_ok = np.median(np.abs(inside - np.median(inside, axis=0))) >= 0.3 * np.median(
            np.abs(rest - np.median(rest, axis=0)))
        # and it fades in softly (light through a finger, a leak), where a coloured object ends at its edge
        unit = shift / max(float(np.linalg.norm(shift)), 1e-6)
        along = (unit[0] * np.log(lin_small[..., 0] / lin_small[..., 1])
                 + unit[1] * np.log(lin_small[..., 2] / lin_small[..., 1])).astype(np.float32)
        if np.linalg.norm(shift) >= CAST and spread_ok and np.median(det[comp]) >= 0.2 * np.median(det[~comp]) \
                and _soft(along, comp, ~comp) >= CAST_SOFT_PX:
            out["cast_share"], out["cast_where"] = float(comp.mean()), where
    return out
