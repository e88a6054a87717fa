"""What grouping knows of one photo: its capture time and exposure from the metadata, its embedding, and two small
thumbnails and a sharpness grid kept by the `group` analyzer where the frame is already decoded (grey for geometry,
colour for telling one scene from another); read from a judged pipeline result by `group_input`."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.judge.flaws import TOOK, role
from keepers.core.types import Finding, Frame, area_resize

THUMB = 64  # long side of the grey thumbnail kept for geometry
GRID = 4  # cells per side of the sharpness grid
COLOUR = 32  # long side of the colour thumbnail kept for telling one scene from another


@dataclass
class GroupInput:
    """What grouping needs of one photo; every field but `key` may be missing."""

    key: str
    time: float | None = None  # capture time, s since the epoch
    camera: str | None = None
    exposure_bias: float | None = None  # EV
    exposure_time: float | None = None
    f_number: float | None = None
    iso: float | None = None
    focal_length: float | None = None
    pixels: int | None = None
    embedding: np.ndarray | None = None
    thumb: np.ndarray | None = None  # grey uint8, long side THUMB
    colour: np.ndarray | None = None  # CIELAB uint8 (OpenCV's 8-bit encoding), long side COLOUR
    sharp_grid: np.ndarray | None = None  # GRID x GRID log10 Laplacian energy
    quality: float | None = None  # the 1-10 score
    blurred: bool = False
    eyes_closed: bool = False
    badly_exposed: bool = False
    sharpness: float | None = None
    subject: float | None = None  # p(an animal is in the frame), the appeal analyzer's
    people: int | None = None  # faces large enough to be the subject (appeal analyzer)


class GroupFeatures(Analyzer):
    """Keeps a small grey thumbnail and a grid of local sharpness for panorama and focus-stack detection, and a
    smaller colour one that tells frames of one scene from neighbours that only look alike (same_scene)."""

    name = "group"
    version = "2"  # 2: the colour thumbnail

    def analyze(self, frame: Frame) -> Finding:
        thumb, grid = frame_features(frame.grey, frame.grey_shrunk)
        colour = colour_thumb(frame.rgb, frame.shrunk)
        return Finding(self.name, self.version, None, weight=0.0,
                       data={"thumb": base64.b64encode(thumb.tobytes()).decode(), "thumb_shape": list(thumb.shape),
                             "sharp_grid": np.round(grid, 3).tolist(),
                             "colour": base64.b64encode(colour.tobytes()).decode(), "colour_shape": list(colour.shape)})


def read_features(it: GroupInput, data: dict) -> None:
    """Fill `it` from a GroupFeatures finding's data (one written by any version)."""
    if "thumb" in data:
        it.thumb = np.frombuffer(base64.b64decode(data["thumb"]), np.uint8).reshape(data["thumb_shape"])
        it.sharp_grid = np.asarray(data["sharp_grid"], np.float32)
    if "colour" in data:
        it.colour = np.frombuffer(base64.b64decode(data["colour"]), np.uint8).reshape(data["colour_shape"])


def frame_features(grey: np.ndarray, shrink=None) -> tuple[np.ndarray, np.ndarray]:
    """Grey float [0,1] image -> (uint8 thumbnail with long side THUMB, GRID x GRID log10 Laplacian energy).
    `shrink((w, h))`: `grey` shrunk by area averaging, when the caller has a cheaper way (Frame.grey_shrunk)."""
    h, w = grey.shape
    s = THUMB / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    thumb = shrink(size) if shrink is not None else area_resize(grey, size)
    lap = cv2.Laplacian(np.asarray(grey, np.float32), cv2.CV_32F, ksize=3)  # no copy of a float32 frame
    e = area_resize(lap * lap, (GRID, GRID))  # the mean over each cell
    return np.clip(thumb * 255 + 0.5, 0, 255).astype(np.uint8), np.log10(e + 1e-7)


def colour_thumb(rgb: np.ndarray, shrink=None) -> np.ndarray:
    """RGB uint8 image -> CIELAB uint8 thumbnail with long side COLOUR (OpenCV's 8-bit Lab: L*x255/100, a*+128,
    b*+128). `shrink((w, h))`: `rgb` shrunk by area averaging, when the caller has a cheaper way (Frame.shrunk)."""
    h, w = rgb.shape[:2]
    s = COLOUR / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = shrink(size) if shrink is not None else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(np.ascontiguousarray(small, np.uint8), cv2.COLOR_RGB2LAB)


def cielab(colour: np.ndarray) -> np.ndarray:
    """A colour thumbnail (colour_thumb's OpenCV 8-bit Lab, or an area-shrunk float copy of it) -> float32 CIELAB:
    L* 0-100, a*, b*."""
    return (colour.astype(np.float32) - np.float32([0, 128, 128])) * np.float32([100 / 255, 1, 1])


def parse_time(value: str | None) -> float | None:
    """ISO 8601 capture time -> epoch seconds; None for missing or placeholder dates (0000:00:00 and the like)."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return None
    if t.year < 1971:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


def _flag(codes: set[str], *words: str) -> bool:
    return any(w in c for c in codes for w in words)


def group_input(result) -> GroupInput:
    """A judged pipeline Result (photo, meta, findings, verdict) -> GroupInput; quality is its judgement's score."""
    meta, findings = result.meta, result.findings or []
    it = GroupInput(key=result.photo.path)
    if meta is not None:
        it.time = parse_time(meta.capture_time)
        it.camera = " ".join(x for x in (meta.make, meta.model) if x) or None
        it.exposure_bias, it.exposure_time, it.f_number = meta.exposure_bias, meta.exposure_time, meta.f_number
        it.iso, it.focal_length = meta.iso, meta.focal_length
        it.pixels = meta.width * meta.height if meta.width and meta.height else None
    for f in findings:
        if f.data.get("embedding") is not None and f.analyzer == "embedding":
            it.embedding = np.asarray(f.data["embedding"], np.float32)
        if f.analyzer == GroupFeatures.name:
            read_features(it, f.data)
        if f.analyzer == "appeal":
            it.subject = f.features.get("subject")
            it.people = int(f.features["people"]) if "people" in f.features else None
        if f.analyzer == "sharpness" and "blur_best" in f.features:
            it.sharpness = -float(f.features["blur_best"])  # the blur (log px) of the sharpest region: less is sharper
    # only flaws that matter disqualify a frame from being the pick: those its judgement charged points for where
    # it was judged (a flaw measured and not charged can be untrue of the photo: a bedroom's frames kept at 7.6-8.6
    # were each called "(badly exposed)" as alternates), else those the analyzers found with severity >= 0.3
    verdict = getattr(result, "verdict", None)
    if verdict is not None and verdict.score is not None:
        codes = {r.code for r in verdict.reasons if role(r) == TOOK}
    else:
        codes = {r.code for f in findings for r in f.reasons if r.severity >= 0.3}
    it.blurred = _flag(codes, "blur", "focus", "shake")
    it.eyes_closed = _flag(codes, "closed_eyes", "blink")
    it.badly_exposed = _flag(codes, "expos", "highlight", "shadow", "dark", "bright")
    it.quality = result.verdict.score if getattr(result, "verdict", None) is not None else None
    return it
