"""Focus: how blurred the sharpest part of the photo is, and whether the blur is defocus or motion.

Blur is a Gaussian sigma in analysis pixels, estimated at edge centres from how much gradient survives smoothing
(Zhuo & Sim's re-blur ratio): an edge blurred by b has a gradient peak ~ 1/sqrt(b^2 + s^2) at smoothing s, so the
ratio at s = 1 and 2 gives b whatever the edge's contrast. Per tile of a grid; the best tile decides, so a sharp
subject on a blurred background is in focus. The 2x2 tensors of the gradients give the blur per direction: motion
smears one direction only, defocus all of them. Noise would pass for detail, so edges are found at a scale noise
cannot reach, the fine gradient is correlated with the coarse one rather than squared, and the measured noise
energy is subtracted.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer, noise
from keepers.core.types import Finding, Frame, Reason

MIN_SIDE = 32

SHARP, SOFT, BLURRED = 0.85, 1.1, 2.6  # blur px: no loss below SHARP, flagged above SOFT, hopeless at BLURRED
BORDERLINE = (0.9, 1.5)  # best-tile blur where a full-resolution crop decides (when there is more resolution)
MIN_REFINE_GAIN = 1.3  # the least resolution (in multiples of the analysis scale) worth refining on
SMEAR, ANISOTROPY = 0.6, 0.33  # motion: the blurriest direction this much (px, and share) blurrier than the sharpest
CELLS = 12  # grid cells along the long side; a tile is 2x2 cells, tiles overlap by half
SNR = 4.0  # a tile counts when its edges carry this many times the noise energy
# noise energy at edges exceeds that of flat areas (noise grows with signal, edges are mid-tones): subtract 3x what
# the flat areas show, capped by 4x what white noise of the estimated sigma would give (texture is not noise);
# calibrated so that distort.noise levels 1-4 leave the blur of 60 real photos unchanged in the median
OVER, CAP = 3.0, 4.0
NOISE_PENALTY = 3.0  # px of blur added per unit share of noise in a tile's fine-scale energy
MAX_BLUR = 8.0


def _blurs(g: np.ndarray) -> list[np.ndarray]:
    """`g` after Gaussian smoothing at 1, 2 and 3 px."""
    out, b, prev = [], g, 0.0
    for s in (1.0, 2.0, 3.0):
        sig = float(np.sqrt(s * s - prev * prev))
        k = 2 * int(np.ceil(3 * sig)) + 1  # OpenCV's default reaches 4 sigma: slower, no different here
        b = cv2.GaussianBlur(b, (k, k), sig)
        out.append(b)
        prev = s
    return out


_DX = np.array([[-0.5, 0.0, 0.5]], np.float32)


def _grad(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y central differences (half the step across two pixels), the border reflected (BORDER_REFLECT_101).
    As cv2.Sobel(b, CV_32F, 1, 0, ksize=1, scale=0.5) gives them, to the bit, but filter2D's vertical pass is
    5x faster than Sobel's for float (0.2 ms against 1.0 at 1024 px)."""
    return cv2.filter2D(b, cv2.CV_32F, _DX), cv2.filter2D(b, cv2.CV_32F, _DX.T)


def _grad_at(b: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_grad(b) at the points (ys, xs) only, the border reflected as OpenCV does: the fine scales are needed at
    edge centres and a sparse grid, a few % of the pixels, so the dense filters would be mostly wasted. Read as
    flat indices, which numpy gathers faster than index pairs."""
    h, w = b.shape
    flat = b.ravel()
    if w > 1:
        xm, xp = xs - 1, xs + 1
        xm[xm < 0], xp[xp >= w] = 1, w - 2  # BORDER_REFLECT_101: -1 -> 1, w -> w - 2
        row = ys * w
        gx = 0.5 * (flat[row + xp] - flat[row + xm])
    else:
        gx = np.zeros(len(xs), b.dtype)
    if h > 1:
        ym, yp = ys - 1, ys + 1
        ym[ym < 0], yp[yp >= h] = 1, h - 2
        gy = 0.5 * (flat[yp * w + xs] - flat[ym * w + xs])
    else:
        gy = np.zeros(len(ys), b.dtype)
    return gx, gy


def _maxima(m: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the pixels of `m` that are the largest of their 3x3 neighbourhood and above `thr`, in
    row-major order: np.nonzero((m >= dilate(m)) & (m > thr)), in OpenCV's operations (1.5 ms against 2.8)."""
    mask = cv2.compare(m, cv2.dilate(m, np.ones((3, 3), np.uint8)), cv2.CMP_GE)
    mask &= cv2.threshold(m, thr, 255, cv2.THRESH_BINARY)[1].astype(np.uint8)
    pts = cv2.findNonZero(mask)
    if pts is None:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    return pts[:, 0, 1].astype(np.intp), pts[:, 0, 0].astype(np.intp)


def _grads(g: np.ndarray) -> list[np.ndarray]:
    """x and y gradients after Gaussian smoothing at 1, 2 and 3 px."""
    return [d for b in _blurs(g) for d in _grad(b)]


def _white_noise_gains() -> tuple[float, float, float]:
    """E[g1*g2], E[g2^2], E[g3^2] per gradient component, for white noise of unit variance."""
    d = np.zeros((61, 61), np.float32)
    d[30, 30] = 1
    gx1, _, gx2, _, gx3, _ = _grads(d)
    return float((gx1 * gx2).sum()), float((gx2 * gx2).sum()), float((gx3 * gx3).sum())


NG = _white_noise_gains()


def blur_from_ratio(r: np.ndarray | float) -> np.ndarray:
    """Edge blur from the ratio of fine to coarse gradient at an edge centre; negative for finer than an edge."""
    r2 = np.maximum(np.asarray(r, np.float64), 1.0 + 1e-3) ** 2
    b2 = (4.0 - r2) / (r2 - 1.0)
    return np.clip(np.sign(b2) * np.sqrt(np.abs(b2)), -2.0, MAX_BLUR)


def _gen_eig(t1: np.ndarray, t2: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Largest and smallest v'T1v / v'T2v over directions v (tensors as [xx, xy, yy]), and the v of the smallest."""
    a, b, c = t1
    d, e, f = t2
    qa, qb, qc = d * f - e * e, -(a * f + c * d - 2 * b * e), a * c - b * b
    qa = qa if abs(qa) > 1e-30 else 1e-30
    disc = np.sqrt(max(qb * qb - 4 * qa * qc, 0.0))
    hi, lo = (-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)
    v = np.array([b - lo * e, lo * d - a])
    if np.hypot(*v) < 1e-12:
        v = np.array([lo * f - c, b - lo * e])
    n = np.hypot(*v)
    return float(hi), float(lo), (v / n if n > 1e-12 else np.array([1.0, 0.0]))


def measure(grey: np.ndarray, noise_sigma: float = 0.0) -> dict:
    """Blur of the best tile of `grey` (float [0, 1]), its box, and the blur per direction over the whole frame."""
    h, w = grey.shape
    # a tile is 2x2 cells, so the short side needs two: a long panorama strip (8:1) would otherwise have no tile
    cell = max(12, min(round(max(h, w) / CELLS), min(h, w) // 2))
    s1, s2, s3 = _blurs(grey)
    m3 = cv2.magnitude(*_grad(s3))
    # noise energy, measured on a sparse grid in the flattest 30 % at the 3 px scale (where noise barely shows)
    sub = (slice(2, None, 4), slice(2, None, 4))
    flat = m3[sub] <= np.quantile(m3[sub], 0.3)
    fy, fx = (a[flat] for a in np.mgrid[sub[0].start : h : 4, sub[1].start : w : 4])
    (fx1, fy1), (fx2, fy2) = _grad_at(s1, fy, fx), _grad_at(s2, fy, fx)
    v12 = min(CAP * noise_sigma ** 2 * NG[0], 0.5 * float((fx1 * fx2 + fy1 * fy2).mean()))
    v22 = min(CAP * noise_sigma ** 2 * NG[1], 0.5 * float((fx2 ** 2 + fy2 ** 2).mean()))
    # edge centres: local maxima of the 3 px gradient, clear of the noise
    thr = max(0.004, 8.0 * noise_sigma * np.sqrt(2 * NG[2]))
    ys, xs = _maxima(m3, thr)
    nr, nc = h // cell, w // cell
    keep = (ys < nr * cell) & (xs < nc * cell)
    ys, xs = ys[keep], xs[keep]
    (a1, b1), (a2, b2) = _grad_at(s1, ys, xs), _grad_at(s2, ys, xs)
    idx = (ys // cell) * nc + xs // cell
    s = np.stack([np.bincount(idx, wt, nr * nc) for wt in
                  (None, a1 * a2, 0.5 * (a1 * b2 + b1 * a2), b1 * b2, a2 * a2, a2 * b2, b2 * b2)], -1)
    s = s.reshape(nr, nc, 7)
    t = s[:-1, :-1] + s[1:, :-1] + s[:-1, 1:] + s[1:, 1:]  # 2x2 cells: tiles overlapping by half
    n = t[..., 0]
    t1 = t[..., 1:4] - OVER * n[..., None] * np.array([v12, 0, v12])
    t2 = t[..., 4:7] - n[..., None] * np.array([v22, 0, v22])
    tr1, tr2 = t1[..., 0] + t1[..., 2], np.maximum(t2[..., 0] + t2[..., 2], 1e-12)
    content = (n >= max(8, (2 * cell) ** 2 / 600)) & (tr2 >= SNR * 2 * v22 * n)  # edges, not noise
    if not content.any():  # no edge stands out anywhere (fog, a plain wall, or a hopeless blur)
        content = n >= max(1.0, n.max())
    # what is left of the noise after subtraction still scatters a tile's ratio, and the best of many scattered
    # tiles looks too sharp: penalise each tile by the share of its fine-scale energy that was noise
    noisy = NOISE_PENALTY * OVER * 2 * v12 * n / np.maximum(t[..., 1] + t[..., 3], 1e-12)
    iso = blur_from_ratio(np.maximum(tr1, 0) / tr2) + noisy
    # camera shake smears every tile the same way: pool the tiles, each normalised to count once
    hi, lo, v = _gen_eig((t1[content] / tr2[content, None]).sum(0), (t2[content] / tr2[content, None]).sum(0))
    sharp_dir, blur_dir = float(blur_from_ratio(max(hi, 0))), float(blur_from_ratio(max(lo, 0)))
    smear = blur_dir - max(sharp_dir, 0.0)
    tile = np.where(content, iso, np.inf)
    q1 = v[0] ** 2 * t1[..., 0] + 2 * v[0] * v[1] * t1[..., 1] + v[1] ** 2 * t1[..., 2]
    q2 = v[0] ** 2 * t2[..., 0] + 2 * v[0] * v[1] * t2[..., 1] + v[1] ** 2 * t2[..., 2]
    across = content & (q2 > 0.3 * tr2)
    if smear > SMEAR / 2 and across.any():
        # directional blur: only tiles with edges across the smear can show whether they are sharp
        along = blur_from_ratio(np.maximum(q1, 0) / np.maximum(q2, 1e-12))
        tile = np.where(across, np.maximum(iso, along + noisy), np.inf)
    if not np.isfinite(tile).any():  # no tile with edges (a grossly over-sharpened copy): every tile as measured
        tile = np.where(np.isfinite(iso), iso, np.inf) if np.isfinite(iso).any() else np.full_like(iso, MAX_BLUR)
    r, c = np.unravel_index(int(np.argmin(tile)), tile.shape)
    return {"best": float(tile[r, c]), "box": (int(c * cell), int(r * cell), int((c + 2) * cell), int((r + 2) * cell)),
            "median": float(np.median(tile[np.isfinite(tile)])), "sharp_dir": sharp_dir, "blur_dir": blur_dir,
            "smear": smear, "angle": float(np.degrees(np.arctan2(-v[1], v[0])) % 180),
            "content_tiles": float(content.mean())}


class SharpnessAnalyzer(Analyzer):
    name = "sharpness"
    # 2: the focus check's crop comes from the loader's 1/4-scale decode whenever that gives enough, also after the
    # faces analyzer decoded the photo at 1/2 scale (which it used to read then, for a different number)
    version = "2"
    weight = 1.0

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:  # a thumbnail-sized image shows too little to judge
            return Finding(self.name, self.version, None)
        grey = frame.grey
        m = measure(grey, noise.levels(frame)["y"] / 255.0)
        blur, refined = m["best"], 0.0
        if BORDERLINE[0] <= blur <= BORDERLINE[1] and (frame.meta.width or 0) > 1.2 * grey.shape[1]:
            full = self._refine(frame, m["box"])
            blur, refined = (blur, 0.0) if full is None else (full, 1.0)
        aniso = m["smear"] / max(m["blur_dir"], 0.5)
        severity = float(np.clip((blur - SHARP) / (BLURRED - SHARP), 0.0, 1.0))
        reasons = []
        if blur > SOFT and m["smear"] >= SMEAR and aniso >= ANISOTROPY:
            reasons.append(Reason("motion_blur", "Motion blur: detail is smeared in one direction "
                                  "(camera shake or subject movement)", severity))
        elif blur > SOFT:
            reasons.append(Reason("out_of_focus", "Out of focus: no sharp detail anywhere in the frame", severity))
        features = {"blur_best": blur, "blur_median": m["median"], "blur_sharp_dir": m["sharp_dir"],
                    "blur_blur_dir": m["blur_dir"], "smear": m["smear"], "anisotropy": aniso,
                    "content_tiles": m["content_tiles"], "refined": refined}
        return Finding(self.name, self.version, 1.0 - 0.92 * severity, reasons, weight=self.weight,
                       features=features, data={"best_box": list(m["box"]), "motion_angle": m["angle"]})

    @staticmethod
    def _refine(frame: Frame, box: tuple[int, int, int, int]) -> float | None:
        """Blur of the best tile measured on the full-resolution pixels (at most 2x analysis scale), in analysis px."""
        # 1.3x the analysis scale already shows a blur of 0.9 analysis px as 1.2 px, which the measure resolves:
        # a 20-24 MP JPEG's 1/4-scale decode (1.3-1.5x) serves, and only smaller gains pay for a second decode
        crop = frame.full_crop(box, max_gain=2.0, min_gain=MIN_REFINE_GAIN)
        bw = box[2] - box[0]
        if min(crop.shape[:2]) < MIN_SIDE:
            return None
        if crop.shape[1] > 2 * bw:  # twice the analysis scale resolves what decides; more only costs time
            crop = cv2.resize(crop, (2 * bw, max(1, round(crop.shape[0] * 2 * bw / crop.shape[1]))),
                              interpolation=cv2.INTER_AREA)
        g = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32) * (1 / 255.0)
        return measure(g, noise.luma_sigma(g))["best"] * bw / crop.shape[1]
