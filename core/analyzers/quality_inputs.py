"""What the quality head reads of a photo (`head_inputs`): the classical analyzers' features (sharpness, noise,
exposure, lens: the pipeline's findings, or computed here when run alone), a few statistics of our own
(`extra_features`) and the EfficientNet-Lite0 embedding of the frame and of one detail crop. Kept apart from the
head: training (models/train/quality.py) extracts these for every photo, and the flaw scorers read the same
features."""

from __future__ import annotations

import math

import cv2
import numpy as np

from keepers.core.types import Finding, Frame

CROP = 224

# what the head needs from the classical analyzers (missing ones count as 0)
CLASSICAL = {
    "sharpness": ("blur_best", "blur_median", "blur_sharp_dir", "blur_blur_dir", "smear", "anisotropy", "content_tiles"),
    "noise": ("noise_y", "noise_c", "noise_immerkaer", "noise_floor", "noise_level"),
    "exposure": ("p1", "p5", "p50", "p95", "p99", "key_ev", "headroom_ev", "under_ev", "over", "clipped", "blown",
                 "black", "spread", "backlit_ev", "centre", "surround"),
    "lens": ("vignetting_ev", "ca_red_px", "ca_blue_px", "ca_px"),
}
LOG1P = {f"noise.{k}" for k in CLASSICAL["noise"]}  # heavy-tailed


def classical_findings(frame: Frame, found: dict[str, Finding] | None = None) -> dict[str, Finding]:
    """The classical analyzers' findings for this frame: those in `found` (the pipeline's), the rest computed."""
    from keepers.core.analyzers.exposure import ExposureAnalyzer
    from keepers.core.analyzers.lens import LensAnalyzer
    from keepers.core.analyzers.noise import NoiseAnalyzer
    from keepers.core.analyzers.sharpness import SharpnessAnalyzer

    found = dict(found or {})
    for cls in (SharpnessAnalyzer, NoiseAnalyzer, ExposureAnalyzer, LensAnalyzer):
        if cls.name not in found:
            found[cls.name] = cls().analyze(frame)
    return found


def extra_features(frame: Frame) -> dict[str, float]:
    """Statistics the classical analyzers do not keep: gradient energy per scale, colour, JPEG blocking, tonal spread."""
    g = frame.grey
    out, level = {}, g
    for k in range(3):  # how detail falls from fine to coarse scales tells blur from a plain subject
        gx, gy = cv2.Sobel(level, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(level, cv2.CV_32F, 0, 1, ksize=3)
        out[f"grad{k}"] = math.log(float(cv2.mean(cv2.magnitude(gx, gy))[0]) + 1e-4)
        out[f"lap{k}"] = math.log(float(cv2.meanStdDev(cv2.Laplacian(level, cv2.CV_32F))[1][0, 0]) ** 2 + 1e-7)
        level = cv2.pyrDown(level)
    out["grad_drop"], out["lap_drop"] = out["grad0"] - out["grad2"], out["lap0"] - out["lap2"]
    # colour and tones from a small copy: they do not need detail
    h, w = g.shape
    f = min(1.0, 256 / max(h, w))
    small = frame.shrunk((max(1, round(w * f)), max(1, round(h * f))))
    rgb = small.reshape(-1, 3).astype(np.float32)
    rg, yb = rgb[:, 0] - rgb[:, 1], 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    out["colourfulness"] = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())) / 255
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    out["saturation"] = float(hsv[..., 1].mean()) / 255
    y8 = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    out["rms_contrast"] = float(y8.std()) / 255
    hist = cv2.calcHist([y8], [0], None, [64], [0, 256]).ravel() / y8.size
    out["entropy"] = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum())
    out["dark"], out["bright"] = float(hist[:6].sum()), float(hist[-6:].sum())
    # JPEG blocking: luma steps across the 8 px grid against steps elsewhere (rows subsampled: a statistic)
    dx = np.abs(np.diff(g[::4, : w // 8 * 8], axis=1)).mean(axis=0)
    out["blockiness"] = float(dx[7::8].mean() / (dx.mean() + 1e-5)) if dx.size >= 16 else 1.0
    return out


def detail_crop(frame: Frame, box=None) -> np.ndarray:
    """A CROP x CROP window of the analysis image around `box` (the sharpest tile), or its centre."""
    h, w = frame.rgb.shape[:2]
    if min(h, w) < CROP:
        return frame.rgb
    cx, cy = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) if box else (w / 2, h / 2)
    x0 = int(np.clip(cx - CROP / 2, 0, w - CROP))
    y0 = int(np.clip(cy - CROP / 2, 0, h - CROP))
    return frame.rgb[y0 : y0 + CROP, x0 : x0 + CROP]


def head_inputs(frame: Frame, model=None, crop: bool = True, found: dict[str, Finding] | None = None
                ) -> dict[str, np.ndarray | dict]:
    """Everything the head reads: {"embedding", "crop_embedding", "features"} (features: name -> value); the crop's
    embedding (one more network run) only when `crop`. `found`: the classical findings made already."""
    from keepers.core.inference.embedding import frame_embedding, shared_model

    model = model or shared_model()
    found = classical_findings(frame, found)
    feats = {f"{a}.{k}": float(found[a].features.get(k, 0.0)) for a, keys in CLASSICAL.items() for k in keys}
    for k in LOG1P:
        feats[k] = math.log1p(max(feats[k], 0.0))
    feats.update({f"extra.{k}": v for k, v in extra_features(frame).items()})
    emb, _ = frame_embedding(frame, model)
    out = {"embedding": emb, "features": feats}
    if crop:
        box = found["sharpness"].data.get("best_box")
        out["crop_embedding"] = model.embed(np.ascontiguousarray(detail_crop(frame, box)))[0]
    return out

