"""Focus: how blurred the sharpest part of the photo is, and whether the blur is defocus or motion.

Blur is estimated at edges as a Gaussian sigma in analysis pixels, from how much gradient survives a second
smoothing (Zhuo & Sim's re-blur ratio): an edge blurred by b has gradient peaks ~ 1/sqrt(b^2 + s^2) at smoothing s,
so the ratio at s = 1 and s = 2 gives b whatever the edge's contrast. The expected gradient energy of the measured
noise is subtracted, so noise does not pass for detail. The 2x2 gradient tensors at both scales give the blur per
direction (a generalized eigenproblem): motion blur smears one direction only, defocus all of them.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer, noise
from keepers.core.types import Finding, Frame, Reason

MAX_BLUR = 8.0
SHARP, SOFT, BLURRED = 0.7, 0.95, 2.2  # blur px: no loss below SHARP, flagged above SOFT, hopeless at BLURRED
BORDERLINE = (0.75, 1.25)  # best-region blur where a full-resolution crop decides
S1, SEL_S, SNR, ALPHA, GAMMA = 1.0, 3.0, 4.0, 3.0, 4.0
FLAT_Q, BEST_K, MIN_PEAKS, SHRINK, CELLS = 0.3, 1, 600, 20.0, 16
SMEAR = 1.0  # blur px of the blurriest direction beyond the sharpest one, above which blur is motion


def _grads(g: np.ndarray) -> list[np.ndarray]:
    """x and y gradients after Gaussian smoothing at S1, 2 * S1 and SEL_S."""
    out, b = [], g
    for prev, sig in ((0.0, S1), (S1, 2 * S1), (2 * S1, SEL_S)):
        b = cv2.GaussianBlur(b, (0, 0), float(np.sqrt(sig * sig - prev * prev)))
        out += [cv2.Sobel(b, cv2.CV_32F, 1, 0, ksize=1, scale=0.5), cv2.Sobel(b, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)]
    return out


def _noise_gains() -> tuple[float, float, float]:
    """Variance of one gradient component per unit variance of white noise, at each scale."""
    d = np.zeros((61, 61), np.float32)
    d[30, 30] = 1
    gx1, _, gx2, _, gx3, _ = _grads(d)
    return float((gx1 * gx2).sum()), float((gx2 ** 2).sum()), float((gx3 ** 2).sum())


def blur_from_ratio(r2: np.ndarray | float, s1: float = 1.0) -> np.ndarray:
    """Edge blur sigma from the fine/coarse gradient energy ratio; negative for detail finer than an ideal edge."""
    r2 = np.maximum(np.asarray(r2, np.float64), 1.0 + 1e-6)
    b2 = s1 * s1 * (4.0 - r2) / (r2 - 1.0)
    return np.clip(np.sign(b2) * np.sqrt(np.abs(b2)), -2.0, MAX_BLUR)


def _gen_eig(t1: np.ndarray, t2: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Largest and smallest ratio v'T1v / v'T2v (tensors as [xx, xy, yy]) and the unit v of the smallest."""
    a, b, c = t1
    d, e, f = t2
    qa, qb, qc = d * f - e * e, -(a * f + c * d - 2 * b * e), a * c - b * b
    disc = np.sqrt(max(qb * qb - 4 * qa * qc, 0.0))
    qa = qa if abs(qa) > 1e-18 else 1e-18
    hi, lo = (-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)
    v = np.array([b - lo * e, -(a - lo * d)])
    if np.hypot(*v) < 1e-12:
        v = np.array([-(c - lo * f), b - lo * e])
    n = np.hypot(*v)
    return hi, lo, (v / n if n > 1e-12 else np.array([1.0, 0.0]))


NG = _noise_gains()


def measure(grey: np.ndarray, noise_sigma: float = 0.0) -> dict:
    """Blur per overlapping tile of `grey` (float [0, 1]) and per direction; see the module docstring."""
    h, w = grey.shape
    cell = max(12, round(max(h, w) / CELLS))
    s1 = S1
    gx1, gy1, gx2, gy2, gx3, gy3 = _grads(grey)
    m1, m2, m3 = gx1 * gx2 + gy1 * gy2, gx2 * gx2 + gy2 * gy2, gx3 * gx3 + gy3 * gy3
    # noise energy per gradient component, measured (noise as it really is: correlated by demosaicing, shaped by
    # compression) in the 30 % of 4x4 blocks flattest at a scale noise cannot reach; at least what sigma implies
    size = (w // 4, h // 4)
    small = cv2.GaussianBlur(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), (0, 0), 1.0)
    coarse = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=1) ** 2 + cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=1) ** 2
    flat = coarse <= np.quantile(coarse, FLAT_Q)
    v1 = min(GAMMA * noise_sigma ** 2 * NG[0], 0.5 * float(cv2.resize(m1[: h // 4 * 4, : w // 4 * 4], size,
                                                               interpolation=cv2.INTER_AREA)[flat].mean()))
    v2 = min(GAMMA * noise_sigma ** 2 * NG[1], 0.5 * float(cv2.resize(m2[: h // 4 * 4, : w // 4 * 4], size,
                                                               interpolation=cv2.INTER_AREA)[flat].mean()))
    # edge centres, found at a scale noise cannot move them (picking them where noise happens to add to the edge
    # would bias the ratio: fine and coarse noise are correlated)
    thr3 = max(0.004, 8.0 * noise_sigma * np.sqrt(2 * NG[2]))
    peak = ((m3 >= cv2.dilate(m3, np.ones((3, 3), np.uint8))) & (m3 > thr3 * thr3)).astype(np.float32)
    chans = np.stack([peak, gx1 * gx2, 0.5 * (gx1 * gy2 + gy1 * gx2), gy1 * gy2, gx2 * gx2, gx2 * gy2, gy2 * gy2], -1)
    chans[..., 1:] *= peak[..., None]
    hh, ww = h // cell * cell, w // cell * cell
    s = chans[:hh, :ww].reshape(hh // cell, cell, ww // cell, cell, 7).sum(axis=(1, 3))
    t = s[:-1, :-1] + s[1:, :-1] + s[:-1, 1:] + s[1:, 1:]  # 2x2 cells: tiles overlapping by half
    n = t[..., 0]
    t1 = t[..., 1:4] - ALPHA * n[..., None] * np.array([v1, 0, v1], np.float32)
    t2 = t[..., 4:7] - n[..., None] * np.array([v2, 0, v2], np.float32)
    tr1, tr2 = t1[..., 0] + t1[..., 2], np.maximum(t2[..., 0] + t2[..., 2], 1e-12)
    content = (n >= max(8, (2 * cell) ** 2 / MIN_PEAKS)) & (tr2 >= SNR * 2 * v2 * n)  # edges, not noise
    if not content.any():  # no edge stands out anywhere (fog, a plain wall, or a hopeless blur)
        content = n >= max(1.0, n.max())
    # a tile with few edges gives a noisy ratio, and the best of many noisy ratios is too good: shrink each towards
    # the typical tile's, by how few edges it has
    ratio = np.maximum(tr1, 0) / tr2
    typical = float(np.median(ratio[content]))
    iso = blur_from_ratio(((n * ratio + SHRINK * typical) / (n + SHRINK)) ** 2, s1)
    # camera shake smears every tile the same way: pool the tiles, each normalised to count once
    g1 = (t1[content] / tr2[content, None]).sum(0)
    g2 = (t2[content] / tr2[content, None]).sum(0)
    hi, lo, v = _gen_eig(g1, g2)
    sharp_dir, blur_dir = float(blur_from_ratio(max(hi, 0) ** 2, s1)), float(blur_from_ratio(max(lo, 0) ** 2, s1))
    # blur of each tile along the blurriest global direction, where the tile has edges across it
    q1 = v[0] ** 2 * t1[..., 0] + 2 * v[0] * v[1] * t1[..., 1] + v[1] ** 2 * t1[..., 2]
    q2 = v[0] ** 2 * t2[..., 0] + 2 * v[0] * v[1] * t2[..., 1] + v[1] ** 2 * t2[..., 2]
    along = blur_from_ratio(((n * np.maximum(q1, 0) / np.maximum(q2, 1e-12) + SHRINK * max(lo, 0))
                             / (n + SHRINK)) ** 2, s1)
    tile = np.where(content, iso, np.inf)
    across = content & (q2 > 0.3 * tr2)
    if blur_dir - max(sharp_dir, 0.0) > SMEAR / 2 and across.any():
        # blur is directional: only tiles with edges across that direction can show whether it is sharp
        tile = np.where(across, np.maximum(iso, along), np.inf)
    order = np.argsort(tile, axis=None)
    k = min(BEST_K, int(np.isfinite(tile).sum())) - 1
    r, c = np.unravel_index(int(order[max(k, 0)]), tile.shape)
    return {"best": float(tile[r, c]), "box": (c * cell, r * cell, c * cell + 2 * cell, r * cell + 2 * cell),
            "median": float(np.median(tile[np.isfinite(tile)])), "sharp_dir": sharp_dir, "blur_dir": blur_dir,
            "smear": blur_dir - max(sharp_dir, 0.0), "angle": float(np.degrees(np.arctan2(-v[1], v[0])) % 180), "content_tiles": float(content.mean())}


class SharpnessAnalyzer(Analyzer):
    name = "sharpness"
    version = "1"
    weight = 1.0

    def analyze(self, frame: Frame) -> Finding:
        grey = frame.grey
        m = measure(grey, noise.levels(frame)["y"] / 255.0)
        blur, refined = m["best"], 0.0
        if BORDERLINE[0] <= blur <= BORDERLINE[1] and (frame.meta.width or 0) > 1.2 * grey.shape[1]:
            blur, refined = self._refine(frame, m["box"]), 1.0
        aniso = m["blur_dir"] - max(m["sharp_dir"], 0.0)
        severity = float(np.clip((blur - SHARP) / (BLURRED - SHARP), 0.0, 1.0))
        reasons = []
        if blur > SOFT:
            if aniso >= SMEAR:
                reasons.append(Reason("motion_blur", "Motion blur: detail is smeared in one direction "
                                      "(camera shake or subject movement)", severity))
            else:
                reasons.append(Reason("out_of_focus", "Out of focus: no sharp detail anywhere in the frame",
                                      severity))
        features = {"blur_best": blur, "blur_median": m["median"], "blur_sharp_dir": m["sharp_dir"],
                    "blur_blur_dir": m["blur_dir"], "anisotropy": aniso, "content_tiles": m["content_tiles"],
                    "blur_best_rel": blur / max(grey.shape), "refined": refined}
        return Finding(self.name, self.version, 1.0 - 0.92 * severity, reasons, weight=self.weight,
                       features=features, data={"best_box": list(m["box"]), "motion_angle": m["angle"]})

    @staticmethod
    def _refine(frame: Frame, box: tuple[int, int, int, int]) -> float:
        """Blur of the best tile measured on the full-resolution pixels, in analysis pixels."""
        crop = frame.full_crop(box)
        bw = box[2] - box[0]
        target = 2 * bw  # twice the analysis scale resolves the detail that decides; more costs time
        if crop.shape[1] > target:
            crop = cv2.resize(crop, (target, round(crop.shape[0] * target / crop.shape[1])),
                              interpolation=cv2.INTER_AREA)
        g = (crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0
        m = measure(g, noise.luma_sigma(g))
        return m["best"] * bw / crop.shape[1]
