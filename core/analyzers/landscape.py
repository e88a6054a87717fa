"""Landscape checks the classical analyzers do not make: a tilted horizon, haze, a clipped sky, soft corners.

Noise, vignetting and chromatic aberration come from the classical analyzers (their reasons and features).
Horizon: the strongest near-horizontal straight line of the edge map (Hough, then a robust fit of its edge
points); it counts as a horizon only when it is straight (sea, plain, lake shore: not a mountain ridge), crosses
most of the frame and separates two different regions; it is tilted only where no other straight line as long
lies level (a tilted camera tilts every line; a shore under a sloping ridge stays level). Haze: the dark channel
(He et al.: haze-free outdoor patches have some channel near 0) stays high below the sky.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from keepers.core.analyzers import sharpness
from keepers.core.types import Finding, Frame, Reason

WIDTH = 480  # px: the horizon and haze are judged on a copy this wide
TILT = (1.5, 10.0)  # degrees: below, a level horizon; above, a deliberate angle or not a horizon at all
MAX_RMS = 1.2  # px at WIDTH: how far the horizon's edge points may stray from a straight line
MIN_SPAN = 0.6  # share of the width the horizon's edge points must cover
MIN_STEP = 0.06  # luma difference between the bands above and below it
MAX_ROUGH = 1.0  # texture above / texture below
HAZE = 0.42  # median dark channel below the sky
SKY_CLIP = 0.3  # share of the top third that is pure white
MIN_VERTICALS, LEAN_AGREE = 0.5, 1.5  # (length / height, degrees): enough verticals to overrule the line
LINES = 12  # the strongest near-horizontal lines read for one that is level (a level one overrules a sloping line)
SOFT_CORNERS = 1.0  # px of blur more in the corners than in the sharpest tile


def _edges(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grey, horizontal-ish edges, vertical-ish edges) of a WIDTH-wide copy."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (WIDTH, max(8, round(h * WIDTH / w))), interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 1.2)
    med = float(np.median(grey))
    edges = cv2.Canny(grey, max(10.0, 0.33 * med), max(30.0, 0.66 * med + 20)) > 0
    gx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0))
    gy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return grey, (edges & (gy > 2 * gx)).astype(np.uint8), (edges & (gx > 2 * gy)).astype(np.uint8)


def lean(vertical: np.ndarray) -> tuple[float, float]:
    """(median lean of near-vertical segments in degrees, +: tops lean left as in a frame turned anticlockwise;
    their total length / frame height). Perspective makes verticals converge both ways: the median stays ~0."""
    h = vertical.shape[0]
    segs = cv2.HoughLinesP(vertical, 1, np.pi / 360, 20, minLineLength=max(10, h // 8), maxLineGap=3)
    if segs is None:
        return 0.0, 0.0
    x1, y1, x2, y2 = segs[:, 0].T.astype(np.float64)
    flip = y1 < y2  # make (x1, y1) the bottom end
    x1, y1, x2, y2 = np.where(flip, x2, x1), np.where(flip, y2, y1), np.where(flip, x1, x2), np.where(flip, y1, y2)
    ang = np.degrees(np.arctan2(-(x2 - x1), y1 - y2))
    length = np.hypot(x2 - x1, y1 - y2)
    keep = np.abs(ang) <= 12
    if not keep.any():
        return 0.0, 0.0
    ang, length = ang[keep], length[keep]
    order = np.argsort(ang)
    mid = np.searchsorted(np.cumsum(length[order]), 0.5 * length.sum())
    return float(ang[order][mid]), float(length.sum() / h)


def horizon(rgb: np.ndarray) -> dict | None:
    """{"angle": degrees (+: the line rises to the right), "y": height of its middle (0..1), "span", "rms",
    "step", "lean", "verticals", "level": the most level other long straight line's angle, or None} of the most
    horizon-like line, or None when no long straight near-horizontal line is found."""
    grey, horiz, vert = _edges(rgb)
    hh = grey.shape[0]
    lines = cv2.HoughLines(horiz, 1, np.pi / 720, int(0.3 * WIDTH), min_theta=np.radians(78),
                           max_theta=np.radians(102))
    if lines is None:
        return None
    ys, xs = np.nonzero(horiz)
    best, straight = None, []  # straight: the angle of every long straight line, horizon or not
    for i, (rho, theta) in enumerate(lines[:LINES, 0]):
        # edge points within 3 px of the line, fitted again robustly
        near = np.abs(xs * np.cos(theta) + ys * np.sin(theta) - rho) <= 3
        if near.sum() < 0.3 * WIDTH:
            continue
        px, py = xs[near].astype(np.float32), ys[near].astype(np.float32)
        vx, vy, x0, y0 = cv2.fitLine(np.stack([px, py], 1), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        if abs(vx) < 1e-6:
            continue
        slope = vy / vx
        resid = py - (y0 + slope * (px - x0))
        rms = float(np.sqrt(np.mean(np.minimum(resid ** 2, 25.0))))
        span = len(np.unique((px / (WIDTH / 40)).astype(int))) / 40  # coverage of 40 columns
        ymid = float(y0 + slope * (WIDTH / 2 - x0))
        if span >= MIN_SPAN and rms <= MAX_RMS:
            straight.append((float(-np.degrees(np.arctan(slope))), span))
        if i >= 6:  # the horizon is one of the six strongest lines; the rest only say what is level
            continue
        bands = _bands(grey, slope, ymid)
        if bands is None:
            continue
        step, rough = bands  # a horizon has the sky above it: smoother than the land or sea below
        if span >= MIN_SPAN and rms <= MAX_RMS and step >= MIN_STEP and rough <= MAX_ROUGH and 0.08 < ymid / hh < 0.92:
            if best is None or span * step > best["span"] * best["step"]:
                best = {"angle": float(-np.degrees(np.arctan(slope))), "y": ymid / hh, "span": span, "rms": rms,
                        "step": step, "rough": rough}
    if best is not None:
        best["lean"], best["verticals"] = lean(vert)
        # the most level of the other straight lines that cross as much of the frame: a shore under a sloping ridge (a
        # tilted camera tilts them all; a line of reeds across 60 % of a tilted marsh read level, so not a shorter one)
        best["level"] = min((a for a, span in straight if abs(a - best["angle"]) > LEAN_AGREE and
                             span >= best["span"]), key=abs, default=None)
    return best


def _bands(grey: np.ndarray, slope: float, ymid: float) -> tuple[float, float] | None:
    """(luma step 0..1 across the line, texture above / texture below) from 8 px bands along it."""
    hh, ww = grey.shape
    xs = np.arange(ww)
    yl = ymid + slope * (xs - ww / 2)
    ks = np.arange(3, 11)
    tex = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    means, texture = [], []
    for sign in (-1, 1):
        yy = np.floor(yl[:, None] + sign * ks[None, :]).astype(int)
        ok = (yy >= 0) & (yy < hh)
        if ok.sum() < ww:
            return None
        idx = yy[ok], np.broadcast_to(xs[:, None], yy.shape)[ok]
        means.append(float(grey[idx].mean()))
        texture.append(float(tex[idx].mean()))
    return abs(means[0] - means[1]) / 255, (texture[0] + 0.5) / (texture[1] + 0.5)


def haze(rgb: np.ndarray) -> float:
    """Median dark channel (0..1) of the lower two thirds: ~0.05 in clear air, 0.4+ in haze or fog."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (200, max(8, round(h * 200 / w))), interpolation=cv2.INTER_AREA)
    dark = cv2.erode(small.min(axis=2), np.ones((7, 7), np.uint8))
    return float(np.median(dark[dark.shape[0] // 3 :])) / 255


def corner_blur(grey: np.ndarray, noise_sigma: float) -> list[float]:
    """Blur (px, sharpness.measure) of the best tile in each quarter-size corner that shows edges."""
    h, w = grey.shape
    ch, cw = h // 3, w // 3
    out = []
    for y0, x0 in ((0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw)):
        crop = np.ascontiguousarray(grey[y0 : y0 + ch, x0 : x0 + cw])
        if min(crop.shape) < 48:
            continue
        with warnings.catch_warnings():  # a corner without a single edge tile warns (median of nothing)
            warnings.simplefilter("ignore", RuntimeWarning)
            m = sharpness.measure(crop, noise_sigma)
        if m["content_tiles"] >= 0.25 and np.isfinite(m["best"]):  # a corner of plain sky shows no blur either way
            out.append(m["best"])
    return out


def check(frame: Frame, findings: dict[str, Finding]) -> tuple[list[Reason], dict]:
    """Reasons and numbers of the landscape checks (reasons the classical analyzers already gave are not repeated)."""
    have = {r.code for f in findings.values() for r in f.reasons}
    reasons, data = [], {}
    hz = horizon(frame.rgb)
    if hz is not None:
        data["horizon"] = {k: round(v, 3) for k, v in hz.items() if v is not None}
        tilt = abs(hz["angle"])
        # upright verticals (trees, masts, walls) and a sloping line: a hillside or a shore, not a tilted camera
        contradicted = hz["verticals"] >= MIN_VERTICALS and abs(hz["lean"] - hz["angle"]) > LEAN_AGREE
        # and a level line across the frame (a lake's shore under a hillside of 7.8 degrees): the land slopes
        contradicted |= hz.get("level") is not None and abs(hz["level"]) < TILT[0]
        if TILT[0] <= tilt <= TILT[1] and not contradicted:
            side = "right" if hz["angle"] > 0 else "left"
            reasons.append(Reason("tilted_horizon", f"Tilted horizon: about {tilt:.1f}° (rises to the {side})",
                                  float(np.clip(0.1 + 0.17 * tilt, 0.2, 0.8))))
    hz_level = haze(frame.rgb)
    data["haze"] = round(hz_level, 3)
    exp = findings.get("exposure")
    spread = exp.features.get("spread", 1.0) if exp else 1.0
    if hz_level >= HAZE and spread < 0.8 and "low_contrast" not in have:
        reasons.append(Reason("low_contrast", "Hazy: distant detail veiled, low contrast",
                              float(np.clip(0.2 + (hz_level - HAZE) * 2, 0.2, 0.6))))
    top = frame.rgb[: frame.rgb.shape[0] // 3]
    sky_clip = float((top.min(axis=2) >= 250).mean())
    data["sky_clipped"] = round(sky_clip, 3)
    if sky_clip >= SKY_CLIP and not have & {"clipped_highlights", "overexposed"}:
        reasons.append(Reason("clipped_highlights", f"Clipped sky: {sky_clip:.0%} of the sky is pure white",
                              float(np.clip(0.2 + sky_clip * 0.5, 0.2, 0.6))))
    sharp = findings.get("sharpness")
    if sharp is not None and sharp.features and not have & {"out_of_focus", "motion_blur"}:
        noise_f = findings.get("noise")
        sigma = (noise_f.features.get("noise_y", 0.0) if noise_f else 0.0) / 255
        corners = corner_blur(frame.grey, sigma)
        if len(corners) >= 3:
            excess = float(np.median(corners)) - sharp.features["blur_best"]
            data["corner_blur_excess"] = round(excess, 2)
            if excess >= SOFT_CORNERS:
                reasons.append(Reason("soft_corners", "Soft corners: detail falls off towards the edges of the frame",
                                      float(np.clip(0.15 + 0.15 * (excess - SOFT_CORNERS), 0.15, 0.4))))
    return reasons, data
