"""Lens flaws: vignetting (dark corners) and lateral chromatic aberration (colour fringes towards the edges).

Vignetting: in a photo without it, luminance gradients along the radius go up as often as down (Zheng et al.'s
radial gradient symmetry), so the median radial gradient of log luminance in the outer part of each quadrant
measures the falloff; all four quadrants must darken, which a bright centred subject or a sky rarely does.
Lateral CA: red and blue are magnified differently from green, so their edges shift radially in proportion to the
distance from the centre; the shift is measured by phase correlation of channel gradients in the most detailed
peripheral tiles and fitted as a scale.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.lab.distort import TO_LINEAR
from keepers.core.types import Finding, Frame, Reason, area_resize

MIN_SIDE = 32

VIGNETTE_EV = 0.8  # darkening of the weakest quadrant's outer part, in stops
CA_PX = 0.8  # red or blue shift at the corners, in analysis pixels
_TILE, _TILES = 64, 16


EVEN = 0.25  # stops per pixel (of the 64 px map): steeper is an edge or texture, not an even surface. A lens falloff
# is gentler (the eval's strongest synthetic vignette, 2.5 stops at the corners, slopes ~0.1 there)


def vignetting_ev(grey8: np.ndarray, width: int = 64, r0: float = 0.35, shrink=None) -> float:
    """Falloff (stops) from radius r0 to the corners (radius 1), of the quadrant that darkens least.
    `shrink((w, h))`: `grey8` shrunk by area averaging, when the caller has a cheaper way (Frame.grey_shrunk)."""
    return falloff(grey8, width, r0, shrink)[0]


def falloff(grey8: np.ndarray, width: int = 64, r0: float = 0.35, shrink=None) -> tuple[float, float, float]:
    """(falloff over every pixel, as vignetting_ev; the same over even surfaces only; stops the middle is lighter
    than the outer ring). A bright flower on dark foliage darkens outwards at the flower's edge, and the radial
    gradients of the whole frame read that edge as a falloff of 1-4 stops; a lens darkens the same surface (sky, a
    wall, a smooth backdrop) towards the corners, which the even pixels alone still show. Where a quadrant holds too
    few even pixels to tell (foliage, gravel), it counts as no falloff: vignetting is judged on even surfaces."""
    h, w = grey8.shape
    hh = max(8, round(width * h / w))
    lin = TO_LINEAR[shrink((width, hh)) if shrink is not None else area_resize(grey8, (width, hh))]
    logl = np.log2(cv2.GaussianBlur(lin, (0, 0), 1.0) + 2e-3)
    gx = cv2.Sobel(logl, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    gy = cv2.Sobel(logl, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    ys, xs = np.mgrid[:hh, :width].astype(np.float32)
    dx, dy = xs - (width - 1) / 2, ys - (hh - 1) / 2
    d = float(np.hypot((width - 1) / 2, (hh - 1) / 2))
    r = np.hypot(dx, dy) + 1e-6
    radial = (gx * dx + gy * dy) / r  # stops per pixel, outwards
    ok = (lin > 0.004) & (lin < 0.85) & (r >= r0 * d)  # clipped areas have no gradient to read
    ok[:2], ok[-2:], ok[:, :2], ok[:, -2:] = False, False, False, False
    even = ok & (np.hypot(gx, gy) < EVEN)
    out = []
    for mask in (ok, even):
        fall = []
        for qx in (dx < 0, dx >= 0):
            for qy in (dy < 0, dy >= 0):
                m = mask & qx & qy
                fall.append(-float(np.median(radial[m])) * (1 - r0) * d if m.sum() > 30 else 0.0)
        out.append(min(fall))
    lit = float(np.median(logl[r < r0 * d]) - np.median(logl[r >= 0.7 * d]))
    return out[0], out[1], lit


def subject_light(grey8: np.ndarray, subject, width: int = 64, shrink=None, rgb=None,
                  peak_size=None) -> dict[str, float]:
    """How lit the subject the image model sees is (core/inference/subject): the median of its log2 linear luminance
    (`subject_ev`; middle grey is -2.5) and how many stops lighter it is than the rest of the frame
    (`subject_lift_ev`), on the 64 px map the falloff reads. Empty where the model sees no subject.

    With `rgb(size)` (the colour image shrunk to `size`), the same on the brightest channel (HSV value:
    `subject_value_ev`, `subject_value_lift_ev`): luminance weighs green most, so a saturated red or blue subject
    reads 1-3 stops darker in it than it looks (a lit poinsettia or blue bellflowers at -3.5 to -7.5, where a dim
    room's grey reads the same in both). `subject_peak_ev`: the subject's highlights there (99th percentile, 0 is
    white), on the larger copy `peak_size` (the 64 px map averages them away): a subject exposed for its highlights
    reaches near white whatever its backdrop, where a copy made 1 stop darker (the eval's least underexposure) sits
    a stop lower."""
    h, w = grey8.shape
    hh = max(8, round(width * h / w))
    mask = subject.mask_at((width, hh))
    if mask.sum() < 4 or (~mask).sum() < 4:
        return {}
    logl = np.log2(TO_LINEAR[shrink((width, hh)) if shrink is not None else area_resize(grey8, (width, hh))] + 2e-3)
    lit = float(np.median(logl[mask]))
    out = {"subject_ev": lit, "subject_lift_ev": lit - float(np.median(logl[~mask]))}
    if rgb is not None:
        logv = np.log2(TO_LINEAR[_value(rgb((width, hh)))] + 2e-3)
        value = float(np.median(logv[mask]))
        out |= {"subject_value_ev": value, "subject_value_lift_ev": value - float(np.median(logv[~mask]))}
        big = subject.mask_at(peak_size) if peak_size is not None else mask
        if big.any():
            peak = TO_LINEAR[_value(rgb(peak_size))[big]] if peak_size is not None else 2.0 ** logv[mask]
            out["subject_peak_ev"] = float(np.log2(np.percentile(peak, 99) + 2e-3))
    return out


def _value(rgb: np.ndarray) -> np.ndarray:
    """The brightest channel of an 8-bit RGB image (HSV value), by OpenCV: numpy's max over the last axis costs 1.2 ms
    at 256 px."""
    return cv2.max(cv2.max(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def ca_shift(rgb: np.ndarray, grey: np.ndarray, shrink=None) -> tuple[float, float]:
    """Radial shift (px at the corners; + outwards) of red and of blue relative to green. `shrink`: as in
    vignetting_ev, for `grey`."""
    h, w = grey.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    d = float(np.hypot(cx, cy))
    t = _TILE if min(h, w) >= 4 * _TILE else max(16, min(h, w) // 4 // 4 * 4)
    q = t // 4  # detail per half-tile step, judged at quarter resolution
    small = shrink((w // q, h // q)) if shrink is not None else area_resize(grey, (w // q, h // q))
    energy = cv2.magnitude(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1))
    energy = cv2.boxFilter(energy, -1, (4, 4), normalize=True, anchor=(0, 0))
    # every tile, half-overlapping, away from the centre (lateral CA grows with the radius: the centre tells
    # nothing), the most detailed first; in numpy, as a Python loop over ~700 tiles cost 1.5 ms
    y0, x0 = (a.ravel() for a in np.meshgrid(np.arange(0, h - t + 1, t // 2), np.arange(0, w - t + 1, t // 2),
                                             indexing="ij"))
    tx, ty = x0 + t / 2 - cx, y0 + t / 2 - cy
    far = np.hypot(tx, ty) >= 0.4 * d
    y0, x0, tx, ty = y0[far], x0[far], tx[far], ty[far]
    e = energy[np.minimum(y0 // q, energy.shape[0] - 1), np.minimum(x0 // q, energy.shape[1] - 1)].astype(np.float64)
    order = np.lexsort((-ty, -tx, -y0, -x0, -e))  # as sorting (e, x0, y0, tx, ty) tuples, largest first
    tiles = [(float(e[k]), int(x0[k]), int(y0[k]), float(tx[k]), float(ty[k])) for k in order[:_TILES]]
    win = cv2.createHanningWindow((t, t), cv2.CV_32F)
    est: list[list[tuple[float, float]]] = [[], []]
    for _, x0, y0, tx, ty in tiles:
        crop = cv2.GaussianBlur(rgb[y0 : y0 + t, x0 : x0 + t].astype(np.float32), (5, 5), 1.0)  # calm the noise
        mag = cv2.split(cv2.magnitude(cv2.Sobel(crop, cv2.CV_32F, 1, 0).reshape(t, -1),
                                      cv2.Sobel(crop, cv2.CV_32F, 0, 1).reshape(t, -1)).reshape(t, t, 3))
        r = float(np.hypot(tx, ty))
        level = [float(m.mean()) + 1e-6 for m in mag]
        for i, c in enumerate((0, 2)):
            if not 0.3 < level[c] / level[1] < 3.0:  # a colour nearly absent here (blue in wood) only adds noise
                continue
            (sx, sy), resp = cv2.phaseCorrelate(mag[1], mag[c], win)  # edges are gradient maxima in any colour
            if resp > 0.1 and np.hypot(sx, sy) < t / 8:  # a weak or far peak is a chance match, not a shift
                est[i].append(((sx * tx + sy * ty) / r / r, resp))  # radial shift per pixel of radius
    return tuple(_weighted_median(e) * d for e in est)


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    if len(pairs) < 3:
        return 0.0
    v, w = np.array(sorted(pairs)).T
    return float(v[np.searchsorted(np.cumsum(w), 0.5 * w.sum())])


class LensAnalyzer(Analyzer):
    name = "lens"
    version = "4"
    weight = 0.3

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:  # a thumbnail-sized image shows too little to judge
            return Finding(self.name, self.version, None)
        from keepers.core.analyzers.misfire import small_size  # (the misfire check's copy: shrunk once per frame)
        from keepers.core.inference.embedding import frame_subject  # (the embedding's run, shared with its analyzer)

        small: dict = {}  # the 64 px map the falloff reads serves the subject's light too (0.3 ms a shrink)
        shrink8 = lambda size: small.get(size) if size in small else small.setdefault(  # noqa: E731
            size, frame.grey_shrunk(size, u8=True))
        vig, even, lit = falloff(frame.grey8, shrink=shrink8)
        red, blue = ca_shift(frame.rgb, frame.grey, shrink=frame.grey_shrunk)
        ca = max(abs(red), abs(blue))
        reasons = []
        if vig >= VIGNETTE_EV:
            reasons.append(Reason("vignetting", f"Vignetting: corners about {vig:.1f} stops darker",
                                  float(np.clip(0.15 + 0.35 * (vig - VIGNETTE_EV), 0.15, 0.8))))
        if ca >= CA_PX:
            severity = float(np.clip(0.15 + 0.25 * (ca - CA_PX), 0.15, 0.8))
            reasons.append(Reason("chromatic_aberration", "Chromatic aberration: colour fringes on edges towards the "
                                  f"corners (about {ca:.1f} px)", severity))
        score = float(np.prod([1.0 - 0.9 * r.severity for r in reasons])) if reasons else 1.0
        return Finding(self.name, self.version, score, reasons, weight=self.weight,
                       features={"vignetting_ev": vig, "vignetting_even_ev": even, "lit_centre_ev": lit,
                                 "ca_red_px": red, "ca_blue_px": blue, "ca_px": ca,
                                 **subject_light(frame.grey8, frame_subject(frame), shrink=shrink8, rgb=frame.shrunk,
                                                 peak_size=small_size(frame))})
