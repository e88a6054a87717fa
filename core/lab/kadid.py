"""The 25 distortion types of KADID-10k at their 5 levels, and how Keepers' score orders them against people.

Written here from the published definitions (Lin, Hosu, Saupe, "KADID-10k: A Large-scale Artificially Distorted IQA
Database", QoMEX 2019: per type, the parameter at each level). KADID's photos are 512x384; the clean photos here are
about 500 px, so sizes in pixels carry over. Differences from the original: colour quantisation has no dither,
denoising is OpenCV's non-local means (KADID used DnCNN), JPEG 2000 is OpenCV's OpenJPEG at KADID's compression
ratios. The human means per type and level are ../shared/data/iqa_labels (KADID DMOS 1-5, TID2013 MOS 0-9).
`distort(rgb, type_id, level, seed)`: rgb uint8 HxWx3 -> rgb uint8; type 1..25 in KADID's order, level 1..5.
"""

from __future__ import annotations

import cv2
import numpy as np

NAMES = ("gaussian_blur", "lens_blur", "motion_blur", "color_diffusion", "color_shift", "color_quantization",
         "color_saturation_1", "color_saturation_2", "jpeg2000", "jpeg", "white_noise", "white_noise_color_component",
         "impulse_noise", "multiplicative_noise", "denoise", "brighten", "darken", "mean_shift", "jitter",
         "non_eccentricity_patch", "pixelate", "quantization", "color_block", "high_sharpen", "contrast_change")
P = {  # the parameter at levels 1..5
    "gaussian_blur": (0.1, 0.5, 1, 2, 5), "lens_blur": (1, 2, 4, 6, 8), "motion_blur": (1, 2, 4, 6, 10),
    "color_diffusion": (1, 3, 6, 8, 12), "color_shift": (1, 3, 6, 8, 12), "color_quantization": (64, 48, 32, 16, 8),
    "color_saturation_1": (0.4, 0.2, 0.1, 0, -0.4), "color_saturation_2": (1, 2, 3, 6, 9),
    "jpeg2000": (16, 32, 45, 120, 170), "jpeg": (43, 36, 24, 7, 4),
    "white_noise": (0.001, 0.002, 0.003, 0.005, 0.01), "white_noise_color_component": (1e-4, 5e-4, 1e-3, 2e-3, 3e-3),
    "impulse_noise": (0.001, 0.005, 0.01, 0.02, 0.03), "multiplicative_noise": (0.001, 0.005, 0.01, 0.02, 0.05),
    "denoise": (0.001, 0.002, 0.003, 0.005, 0.01), "brighten": (0.1, 0.2, 0.4, 0.7, 1.1),
    "darken": (0.05, 0.1, 0.2, 0.4, 0.8), "mean_shift": (0.15, 0.08, 0, -0.08, -0.15),
    "jitter": (0.05, 0.1, 0.2, 0.5, 1), "non_eccentricity_patch": (20, 40, 60, 80, 100),
    "pixelate": (0.01, 0.05, 0.1, 0.2, 0.5), "quantization": (20, 16, 13, 10, 7), "color_block": (2, 4, 6, 8, 10),
    "high_sharpen": (1, 2, 3, 6, 12), "contrast_change": (0.3, 0.15, 0, -0.4, -0.6)}


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)  # L 0-100, a/b about -128..127


def _rgb(lab: np.ndarray) -> np.ndarray:
    return _u8(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB))


def _disk(r: float) -> np.ndarray:
    """A defocus disk of radius r px, anti-aliased (drawn at 8x, averaged down), summing to 1."""
    k, up = 2 * int(np.ceil(r)) + 1, 8
    c = np.zeros((k * up, k * up), np.float32)
    cv2.circle(c, (k * up // 2, k * up // 2), int(r * up), 1.0, -1, cv2.LINE_AA)
    d = cv2.resize(c, (k, k), interpolation=cv2.INTER_AREA)
    return d / d.sum()


def _curve(x: np.ndarray, mid: float) -> np.ndarray:
    """The quadratic tone curve through (0,0), (0.5, mid), (1,1), clipped: KADID's brighten and darken."""
    a = 2 - 4 * mid
    return np.clip(a * x * x + (1 - a) * x, 0, 1)


def _lut(rgb: np.ndarray, f) -> np.ndarray:
    return cv2.LUT(rgb, _u8(f(np.arange(256, dtype=np.float32) / 255)))


def _noisy(rgb: np.ndarray, var: float, rng) -> np.ndarray:
    return _u8(rgb / 255.0 + rng.normal(0, np.sqrt(var), rgb.shape))


def _quantise(x: np.ndarray, n: int) -> np.ndarray:
    """One channel in n levels: thresholds at equal-population quantiles, each bin its mean (as multithresh +
    imquantize leave flat bands)."""
    t = np.unique(np.quantile(x, np.linspace(0, 1, n + 1)[1:-1]))
    b = np.digitize(x, t)
    means = np.bincount(b.ravel(), x.ravel().astype(np.float64), len(t) + 1) / np.maximum(
        np.bincount(b.ravel(), minlength=len(t) + 1), 1)
    return means[b].astype(np.uint8)


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


# --- the measure: held-out references, every type x level, judged as a cull judges; ordered as people order them --

LABELS = "iqa_labels"
EVERY = 3  # every 3rd held-out clean photo (44 of 130): 5,544 judged copies, ~15 min on 2 shared cores
MIN_GAP = 0.5  # KADID DMOS (1-5) apart for a pair of cells to count; TID2013's MOS (0-9) scale: x 9/4
SAVED_AS_IS = ("jpeg", "jpeg2000")
# types the quality head's inputs (whole-frame sharpness, noise, exposure, lens measures) barely see: reported apart
BLIND = (4, 6, 7, 13, 15, 19, 20, 21, 23)  # already compressed files; every other copy is read back from a q92 JPEG
# TID2013 types that are KADID's (by name, or the same operation under another name)
TID = {"gaussian_blur": 1, "jpeg2000": 9, "jpeg": 10, "additive_gaussian_noise": 11, "additive_noise_color": 12,
       "impulse_noise": 13, "multiplicative_gaussian_noise": 14, "image_denoising": 15, "mean_shift": 18,
       "non_eccentricity_pattern_noise": 20, "quantization_noise": 22, "local_blockwise_distortions": 23,
       "contrast_change": 25, "change_of_color_saturation": 7, "color_quantization_dither": 6}


def human(data=None, table: str = "kadid10k") -> dict[tuple[int, int], float]:
    """(KADID type id, level) -> people's mean opinion (KADID: DMOS 1-5; TID2013: MOS 0-9, its shared types)."""
    import csv

    from keepers.core.lab.eval import DATA

    col = "mean_dmos" if table == "kadid10k" else "mean_mos"
    with open((data or DATA) / LABELS / f"{table}_type_level_mos.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if table == "kadid10k":
        return {(int(r["type"]), int(r["level"])): float(r[col]) for r in rows}
    return {(TID[r["name"]], int(r["level"])): float(r[col]) for r in rows if r["name"] in TID}


def copy_of(rgb: np.ndarray, type_id: int, level: int, key: str) -> np.ndarray:
    """The copy a cull would read: distorted (seeded by the photo's name and the type), then saved as a q92 JPEG
    unless the type is a compression."""
    import zlib

    from keepers.core.lab.eval import saved

    out = distort(rgb, type_id, level, zlib.crc32(f"{key}|{type_id}".encode()))
    return out if NAMES[type_id - 1] in SAVED_AS_IS else saved(out)


def score_copies(path: str) -> dict[str, float]:
    """"orig" and "<type>-<level>" -> the 1-10 score the judging step gives (in a pool made by eval._map)."""
    from pathlib import Path

    from keepers.core.analyzers import run_all
    from keepers.core.io.loader import load
    from keepers.core.judge.judgement import judge
    from keepers.core.lab.eval import _state, variant_frame
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    out = {}
    for name, t, lv in [("orig", 0, 0)] + [(f"{t}-{lv}", t, lv) for t in range(1, 26) for lv in range(1, 6)]:
        rgb = frame.rgb if not t else copy_of(frame.rgb, t, lv, Path(path).name)
        out[name] = judge(run_all(variant_frame(frame, rgb), _state["analyzers"]), _state["settings"]).score
    return out


def agreement(score: dict[tuple[int, int], float], people: dict[tuple[int, int], float], gap: float) -> float:
    """Over pairs of cells of different types whose people's means differ by `gap` or more: the share our mean
    scores order as people do (ties count half)."""
    cells = [c for c in people if c in score]
    right = n = 0.0
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            d = people[a] - people[b]
            if a[0] != b[0] and abs(d) >= gap:
                s = score[a] - score[b]
                right += 0.5 if s == 0 else float((s > 0) == (d > 0))
                n += 1
    return right / max(n, 1)


def measure(data=None, workers: int = 2, every: int = EVERY) -> dict:
    from keepers.core.lab.eval import DATA, _map, clean_split

    data = data or DATA
    _, test = clean_split(data)
    refs = test[::every]
    scored = _map(score_copies, [(str(p),) for p in refs], workers, 5.0, "KADID copies of held-out clean photos")
    return summarise(scored, data) | {"every": every}


def summarise(scored: list[dict[str, float]], data=None) -> dict:
    cell = {(t, lv): float(np.mean([s[f"{t}-{lv}"] for s in scored])) for t in range(1, 26) for lv in range(1, 6)}
    kadid, tid = human(data), human(data, "tid2013")
    return {"photos": len(scored), "orig": float(np.mean([s["orig"] for s in scored])),
            "kadid_pairs": agreement(cell, kadid, MIN_GAP), "tid2013_pairs": agreement(cell, tid, MIN_GAP * 9 / 4),
            "kadid_pairs_seen": agreement({c: v for c, v in cell.items() if c[0] not in BLIND}, kadid, MIN_GAP),
            "cells": {f"{t}-{lv}": round(v, 3) for (t, lv), v in cell.items()},
            "human": {f"{t}-{lv}": v for (t, lv), v in kadid.items()}}


def report(m: dict) -> str:
    goal = "✓" if m["kadid_pairs"] >= 0.85 else "✗"
    lines = [f"{m['photos']} held-out clean photos (1 in {m.get('every', EVERY)} of the clean test split), each as "
             f"25 KADID types x 5 levels, judged as a cull judges (clean originals: mean {m['orig']:.2f})", "",
             "| measure | value | goal |", "|---|---|---|",
             f"| pairs of type x level cells of different types (people {MIN_GAP}+ apart) ordered as KADID-10k's "
             f"people order them | {m['kadid_pairs']:.3f} {goal} | ≥ 0.85 |",
             f"| the same against TID2013 ({len(TID)} shared types, people {MIN_GAP * 9 / 4:.2f}+ MOS apart) | "
             f"{m['tid2013_pairs']:.3f} | |",
             f"| KADID, leaving out the {len(BLIND)} types the head's inputs barely see "
             f"({', '.join(NAMES[t - 1] for t in BLIND)}) | {m['kadid_pairs_seen']:.3f} | |", "",
             "| type | people, levels 1-5 (DMOS) | Keepers, levels 1-5 |", "|---|---|---|"]
    for t, name in enumerate(NAMES, 1):
        h = " ".join(f"{m['human'][f'{t}-{lv}']:.1f}" for lv in range(1, 6))
        k = " ".join(f"{m['cells'][f'{t}-{lv}']:.1f}" for lv in range(1, 6))
        lines.append(f"| {name} | {h} | {k} |")
    return "\n".join(lines)
