"""`distort`: one of KADID-10k's 25 distortion types at one of its 5 levels, as kadid.py's docstring describes
(the published definitions, and where this differs from the original)."""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.lab.kadid_types import NAMES, P, _curve, _disk, _lab, _lut, _noisy, _quantise, _rgb, _u8


def distort(rgb: np.ndarray, type_id: int, level: int, seed: int = 0) -> np.ndarray:
    """`rgb` with KADID type `type_id` (1..25) at `level` (1..5); `seed` fixes what is random (noise, directions,
    where blocks fall), and the random draws of a level are a prefix of the next level's."""
    if not (1 <= type_id <= len(NAMES) and 1 <= level <= 5):
        raise ValueError(f"type 1..{len(NAMES)} and level 1..5, got {type_id}, {level}")
    name = NAMES[type_id - 1]
    p = P[name][level - 1]
    rng = np.random.default_rng(seed)
    x = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    if name == "gaussian_blur":
        return cv2.GaussianBlur(rgb, (0, 0), p, borderType=cv2.BORDER_REPLICATE)
    if name == "lens_blur":
        return cv2.filter2D(rgb, -1, _disk(p), borderType=cv2.BORDER_REPLICATE)
    if name == "motion_blur":
        from keepers.core.lab.distort import motion_kernel

        return cv2.filter2D(rgb, -1, motion_kernel(p, float(rng.uniform(0, 180))), borderType=cv2.BORDER_REPLICATE)
    if name == "color_diffusion":  # chroma smeared (and, as KADID's code does, amplified)
        lab = _lab(rgb)
        lab[..., 1:] = cv2.GaussianBlur(lab[..., 1:], (0, 0), 1.5 * p + 2) * p
        return _rgb(lab)
    if name == "color_shift":  # green moved by p px where there are edges: colour fringes
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        e = cv2.GaussianBlur(cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)), (0, 0), 4)
        lo, hi = np.percentile(e, (1, 99))
        e = np.clip((e - lo) / max(hi - lo, 1e-6), 0, 1)
        d = rng.normal(size=2)
        dx, dy = np.round(d / np.linalg.norm(d) * p)
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        shifted = cv2.warpAffine(x[..., 1], m, (w, h), borderMode=cv2.BORDER_REFLECT)
        x[..., 1] = shifted * e + x[..., 1] * (1 - e)
        return _u8(x / 255)
    if name == "color_quantization":  # p colours (k-means on a sample), no dither
        px = x.reshape(-1, 3)
        sample = px[rng.choice(len(px), min(len(px), 4000), replace=False)]
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(seed % 2**31)
        _, _, centres = cv2.kmeans(sample, p, None, crit, 1, cv2.KMEANS_PP_CENTERS)
        cube = (np.indices((32, 32, 32)).reshape(3, -1).T * 8 + 4).astype(np.float32)  # 5 bits a channel: fast
        nearest = (-2 * cube @ centres.T + (centres * centres).sum(1)[None]).argmin(1)
        q = (rgb >> 3).astype(np.int32)
        idx = q[..., 0] * 1024 + q[..., 1] * 32 + q[..., 2]
        return np.ascontiguousarray(centres[nearest[idx]].round().astype(np.uint8))
    if name == "color_saturation_1":  # HSV saturation times p: c' = V + p (c - V)
        v = x.max(axis=2, keepdims=True)
        return _u8((v + p * (x - v)) / 255)
    if name == "color_saturation_2":  # Lab chroma times p
        lab = _lab(rgb)
        lab[..., 1:] *= p
        return _rgb(lab)
    if name in ("jpeg", "jpeg2000"):
        ext, arg = (".jpg", [cv2.IMWRITE_JPEG_QUALITY, p]) if name == "jpeg" else (
            ".jp2", [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, max(1, round(1000 / p))])  # 1000/x = ratio
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]), arg)
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    if name == "white_noise":
        return _noisy(x, p, rng)
    if name == "white_noise_color_component":  # noise in Y, Cb and Cr
        ycc = cv2.cvtColor(x / 255, cv2.COLOR_RGB2YCrCb)
        ycc += rng.normal(0, np.sqrt(p), ycc.shape).astype(np.float32)
        return _u8(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB))
    if name == "impulse_noise":  # salt and pepper on a share p of pixels
        u = rng.random((h, w))
        out = rgb.copy()
        out[u < p / 2], out[(u >= p / 2) & (u < p)] = 0, 255
        return out
    if name == "multiplicative_noise":  # speckle
        return _u8(x / 255 * (1 + rng.normal(0, np.sqrt(p), rgb.shape)))
    if name == "denoise":  # white noise, then a denoiser's waxy smoothing
        noisy = _noisy(x, p, rng)
        s = 255 * np.sqrt(p)
        return cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(noisy), None, s, s, 5, 9)
    if name == "brighten":  # KADID blends the curve on RGB (2/3) and on L (1/3)
        lab = _lab(rgb)
        lab[..., 0] = _curve(lab[..., 0] / 100, 0.5 + 0.5 * p) * 100
        curved = _lut(rgb, lambda t: _curve(t, 0.5 + 0.5 * p)).astype(np.float32)
        return _u8((2 * curved + _rgb(lab)) / 765)
    if name == "darken":
        return _lut(rgb, lambda t: _curve(t, 0.5 - p / 2))
    if name == "mean_shift":
        return _u8(x / 255 + p)
    if name == "jitter":  # every pixel moved by a random shift, five times over
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        out = rgb
        for _ in range(5):
            s = rng.normal(0, 1, (2, h, w)).astype(np.float32) * p
            out = cv2.remap(out, xx - s[1], yy - s[0], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        return out
    if name == "non_eccentricity_patch":  # p 16 px patches copied a few px off their place
        out, k = rgb.copy(), 16
        for _ in range(p):
            y0, x0 = rng.integers(k, max(k + 1, h - 2 * k)), rng.integers(k, max(k + 1, w - 2 * k))
            dy, dx = (rng.uniform(-0.5, 0.5, 2) * k).astype(int)
            out[y0 + dy : y0 + dy + k, x0 + dx : x0 + dx + k] = rgb[y0 : y0 + k, x0 : x0 + k]
        return out
    if name == "pixelate":
        z = 0.95 - p**0.6
        small = cv2.resize(rgb, (max(1, int(z * w)), max(1, int(z * h))), interpolation=cv2.INTER_NEAREST)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    if name == "quantization":
        return np.stack([_quantise(rgb[..., c], p) for c in range(3)], axis=2)
    if name == "color_block":  # p flat 32 px squares of random colours
        out, k = rgb.copy(), 32
        for _ in range(p):
            c = rng.integers(0, 256, 3)
            y0, x0 = int(rng.uniform() * max(1, h - k)), int(rng.uniform() * max(1, w - k))
            out[y0 : y0 + k, x0 : x0 + k] = c
        return out
    if name == "high_sharpen":  # L minus p times its Laplacian: halos and grit
        lab = _lab(rgb)
        lab[..., 0] = np.clip(lab[..., 0] - p * cv2.Laplacian(lab[..., 0], cv2.CV_32F, ksize=1) / 4, 0, 100)
        return _rgb(lab)
    # contrast_change: a tone curve through (0.3, 0.25 - p/4) and (0.7, 0.75 + p/4), smoothed
    t = np.interp(np.arange(256) / 255, [0, 0.3, 0.5, 0.7, 1], [0, 0.25 - p / 4, 0.5, 0.75 + p / 4, 1])
    t = np.convolve(np.pad(t, 12, mode="edge"), np.ones(25) / 25, mode="valid")
    return cv2.LUT(rgb, _u8(t))
