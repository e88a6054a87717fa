"""Faces: MediaPipe BlazeFace -> FaceMesh -> Iris, plus an expression CNN, on onnxruntime; numpy/cv2 around them.

Sides: `left_eye` is the subject's LEFT eye, which appears on the image's right in an upright frontal photo (mesh
landmarks 263/362); `right_eye` is the subject's right eye (landmarks 33/133), at the smaller x. The iris model
knows one eye only, so the left eye's crop is mirrored before it and its points mirrored back, as MediaPipe does.
Coordinates are pixels of the array given (x right, y down); z is in the same scale, relative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from keepers.core.inference.runtime import OnnxModel

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# iris-model contour indices: lower lid 0..8 (corners 0 and 8), upper lid 9..15 (above lower 1..7); iris 71..75
LOWER, UPPER, IRIS = slice(0, 9), slice(9, 16), 71
EYES = {"right_eye": (33, 133, False), "left_eye": (362, 263, True)}  # (start corner, end corner, mirror)
_LUMA = np.float32([0.2989, 0.587, 0.114])  # RGB -> grey (ITU-R 601 weights)


def _anchors(size: int = 256) -> np.ndarray:
    """BlazeFace anchor centres in input px: (size/16)^2 cells x 2, then (size/32)^2 cells x 6, row-major (the
    256 model's strides 16 and 32; the 128 model's 8 and 16)."""
    out = []
    for stride, n in ((size // 16, 2), (size // 8, 6)):
        ys, xs = np.mgrid[0 : size // stride, 0 : size // stride]
        out.append(np.repeat(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], -1) * stride, n, axis=0))
    return np.concatenate(out).astype(np.float32)


ANCHORS = _anchors()


def _overlap(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(area of `box` shared with each of `boxes`, area of `box`, areas of `boxes`); boxes as x0, y0, x1, y1."""
    lo, hi = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(b[..., 2:] - b[..., :2], axis=-1)  # noqa: E731
    return inter, area(box), area(boxes)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    inter, a, b = _overlap(box, boxes)
    return inter / (a + b - inter + 1e-9)


class Deferred:
    """An image made only when its pixels are needed, its shape known ahead: the second face search's 384 px copy
    (1.6 ms) serves only the landmarks of a face found, and on most photos none is."""

    def __init__(self, shape: tuple[int, ...], make: Callable[[], np.ndarray]):
        self.shape, self._make, self._image = shape, make, None

    def pixels(self) -> np.ndarray:
        if self._image is None:
            self._image = self._make()
        return self._image


def _pixels(rgb: np.ndarray | Deferred) -> np.ndarray:
    return rgb.pixels() if isinstance(rgb, Deferred) else rgb


class _Pyramid:
    """The image and its halvings, so a crop is never resampled by more than 2x (bilinear aliasing)."""

    def __init__(self, rgb: np.ndarray | Deferred):
        self._rgb = rgb
        self._levels: list[np.ndarray] | None = None

    @property
    def levels(self) -> list[np.ndarray]:
        if self._levels is None:
            self._levels = [_pixels(self._rgb)]
        return self._levels

    def crop(self, center, axis, side: float, out: int, mirror: bool = False):
        """Square crop of `side` px around `center`, its x axis along unit `axis`, resampled to out x out.
        Returns the crop and A (2x3) mapping crop coordinates (continuous, px of `out`) to image coordinates."""
        ex = np.asarray(axis, np.float64) * side / out
        ey = np.array([-ex[1], ex[0]])
        ex = -ex if mirror else ex
        a = np.stack([ex, ey, np.asarray(center, np.float64) - out / 2 * (ex + ey)], 1)
        k = 0
        while side / out / 2**k > 2 and min(self.levels[k].shape[:2]) > 32:
            if k + 1 == len(self.levels):
                self.levels.append(cv2.pyrDown(self.levels[k]))
            k += 1
        m = a / 2**k
        m[:, 2] += 0.5 * (m[:, 0] + m[:, 1]) - 0.5  # pixel centres: src = A (dst + 0.5) - 0.5
        crop = cv2.warpAffine(self.levels[k], m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)
        return crop, a


def _to_image(a: np.ndarray, pts: np.ndarray, out: int, side: float) -> np.ndarray:
    xy = pts[:, :2] @ a[:, :2].T + a[:, 2]
    return np.concatenate([xy, pts[:, 2:3] * side / out], 1).astype(np.float32)


class BlazeFace(OnnxModel):
    """MediaPipe's full-range face detector (256 px): faces down to a few % of the frame."""

    name = "blazeface"
    size = 256
    anchors = ANCHORS
    outputs = ["scores_16", "boxes_16", "boxes_32", "scores_32"]  # fine scores and boxes, coarse boxes and scores

    def detect(self, rgb: np.ndarray | Deferred, min_score: float = 0.5, trace: dict | None = None, shrink=None):
        """[(box x0,y0,x1,y1, score, 6 keypoints)]: eyes (right, left), nose, mouth, ears; weighted NMS.
        `shrink((w, h))`: `rgb` shrunk by area averaging, when the caller has a cheaper way (Frame.shrunk); with
        it, a Deferred `rgb` is not made."""
        h, w = rgb.shape[:2]
        size, anchors = self.size, self.anchors
        s = size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        ox, oy = (size - nw) // 2, (size - nh) // 2
        x = np.full((1, size, size, 3), -1.0, np.float32)  # letterbox: keeps the aspect ratio, pads black
        small = shrink((nw, nh)) if shrink is not None and s < 1 else cv2.resize(_pixels(rgb), (nw, nh), interpolation=cv2.INTER_AREA)
        x[0, oy : oy + nh, ox : ox + nw] = small / 127.5 - 1
        _trace(trace, self.name, x)
        s_fine, b_fine, b_coarse, s_coarse = self.run({"image": x}, self.outputs)
        raw = np.concatenate([b_fine[0], b_coarse[0]])
        scores = 1 / (1 + np.exp(-np.clip(np.concatenate([s_fine[0, :, 0], s_coarse[0, :, 0]]), -60, 60)))
        keep = np.flatnonzero(scores >= min_score)
        off, centres = np.array([ox, oy], np.float32), raw[keep, :2] + anchors[keep]
        boxes = (np.concatenate([centres - raw[keep, 2:4] / 2, centres + raw[keep, 2:4] / 2], 1) - np.tile(off, 2)) / s
        kps = ((raw[keep, 4:16].reshape(-1, 6, 2) + anchors[keep, None]) - off) / s
        out, scores, order = [], scores[keep], np.argsort(-scores[keep])
        while order.size:  # MediaPipe's weighted NMS: overlapping detections are averaged, not dropped
            ious = _iou(boxes[order[0]], boxes[order])
            g = order[ious > 0.3]
            wt = scores[g] / scores[g].sum()
            out.append(((wt[:, None] * boxes[g]).sum(0), float(scores[order[0]]), (wt[:, None, None] * kps[g]).sum(0)))
            order = order[ious <= 0.3]
        return out


class BlazeFaceFront(BlazeFace):
    """MediaPipe's short-range face detector (128 px), made for faces near the camera: the second face search's,
    where a close-up fills the frame. A quarter of the full-range model's cost (1.5 ms against 7.0 ms a run)."""

    name = "blazeface_front"
    size = 128
    anchors = _anchors(128)
    outputs = ["scores_8", "boxes_8", "boxes_16", "scores_16"]


class FaceMesh(OnnxModel):
    name = "facemesh"


class Iris(OnnxModel):
    name = "iris"


class Emotion(OnnxModel):
    name = "emotion"


def load_models(providers: list[str] | None = None) -> dict[str, OnnxModel]:
    """The five models by name, each loading its session on first use."""
    return {m.name: m(providers) for m in (BlazeFace, BlazeFaceFront, FaceMesh, Iris, Emotion)}


MODELS = load_models()


@dataclass(eq=False)
class Face:
    """One face. box: (x0, y0, x1, y1) of the mesh; score: FaceMesh's face probability; landmarks: 468 x (x, y, z);
    eyes: openness (lid gap / eye width, about 0.25-0.35 open, below 0.1 closed), shade (the iris's luma over the
    skin's below the eye: ~0.4 open, ~0.65 shut), width, iris centre and radius, pupil box (the iris square cut to the
    lid opening: where a pupil, or red eye, can show), upper_lid (7 x 2) and lower_lid (9 x 2, outer corner first),
    contour (71 x 3) and iris (5 x 3: centre, then 4 on the rim) points; expression: emotion -> probability."""

    box: tuple[float, float, float, float]
    score: float
    detector_score: float
    landmarks: np.ndarray
    right_eye: dict[str, Any] = field(default_factory=dict)
    left_eye: dict[str, Any] = field(default_factory=dict)
    expression: dict[str, float] = field(default_factory=dict)
    yaw: float = 0.0  # -1..1, 0 = frontal; > 0: the subject turned to their left (nose towards the image's right)
    # the ROI (centre, axis, side) of FaceMesh's last pass, kept while the eyes and expression are not read yet
    # (detect_faces' `eyes_below`): `complete` reads them from it later, as they would have been read at once
    roi: tuple | None = field(default=None, repr=False)

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def as_dict(self, landmarks: bool = False) -> dict[str, Any]:
        r = lambda v: [round(float(x), 1) for x in v]  # noqa: E731
        d = {"box": r(self.box), "score": round(self.score, 3), "detector_score": round(self.detector_score, 3),
             "yaw": round(self.yaw, 3), "expression": {k: round(v, 3) for k, v in self.expression.items()}}
        for side in ("right_eye", "left_eye"):
            e = self.__dict__[side]
            d[side] = {"openness": round(e["openness"], 3), "shade": round(e["shade"], 3),
                       "iris_centre": r(e["iris_centre"]), "iris_radius": round(e["iris_radius"], 2),
                       "pupil_box": r(e["pupil_box"])}
        if landmarks:
            d["landmarks"] = np.round(self.landmarks[:, :2], 1).tolist()
        return d


def _iris(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """The iris's centre and radius from the iris model's 76 points (its centre, then 4 on the rim)."""
    c, ring = pts[IRIS, :2], pts[IRIS + 1 : IRIS + 5, :2]
    return c, float(np.linalg.norm(ring - c, axis=1).mean())


def _eye(pts: np.ndarray) -> dict[str, Any]:
    """Eye numbers from the iris model's 76 points (image px)."""
    lower, upper = pts[LOWER, :2], pts[UPPER, :2]
    axis = lower[8] - lower[0]
    width = float(np.hypot(*axis)) + 1e-6
    normal = np.array([-axis[1], axis[0]]) / width
    gaps = np.abs((lower[2:7] - upper[1:6]) @ normal)  # the middle 5 of the 7 lid-to-lid gaps
    c, rad = _iris(pts)
    lid = np.concatenate([lower, upper])
    box = (c[0] - rad, max(c[1] - rad, lid[:, 1].min()), c[0] + rad, min(c[1] + rad, lid[:, 1].max()))
    return {"openness": float(gaps.mean() / width), "width": width, "iris_centre": c.astype(float),
            "iris_radius": rad, "pupil_box": np.array(box, float), "upper_lid": upper, "lower_lid": lower,
            "contour": pts[:IRIS], "iris": pts[IRIS:]}


def _roi(pts: np.ndarray, start: int, end: int, scale: float):
    """Square ROI around points, rotated so pts[start] -> pts[end] is horizontal: (centre, axis, side)."""
    v = pts[end, :2] - pts[start, :2]
    axis = v / (np.hypot(*v) + 1e-9)
    local = pts[:, :2] @ np.stack([axis, [-axis[1], axis[0]]], 1)
    lo, hi = local.min(0), local.max(0)
    centre = ((lo + hi) / 2) @ np.stack([axis, [-axis[1], axis[0]]])
    return centre, axis, float(max(hi - lo)) * scale


def _trace(trace: dict | None, name: str, x: np.ndarray) -> np.ndarray:
    if trace is not None:
        trace.setdefault(name, []).append(x)
    return x


def _eyes(pyr: _Pyramid, pts: np.ndarray, model: OnnxModel, trace: dict | None) -> dict[str, dict]:
    """Both eyes through the iris model in one batch; the subject's left eye mirrored in and back out."""
    rois, crops = [], []
    for i, j, mirror in EYES.values():
        side = 2.3 * float(np.hypot(*(pts[j, :2] - pts[i, :2])))
        crop, a = pyr.crop((pts[i, :2] + pts[j, :2]) / 2, _roi(pts, i, j, 1.0)[1], side, 64, mirror)
        rois.append((a, side))
        crops.append(crop.astype(np.float32) / 255)
    out = model.run({"image": _trace(trace, "iris", np.stack(crops))})[0].reshape(2, 76, 3)
    return {key: _eye(_to_image(a, o, 64, side)) | {"shade": _iris_shade(c, o)}
            for key, (a, side), o, c in zip(EYES, rois, out, crops)}


_GRID = np.mgrid[0:64, 0:64].astype(np.float32) + 0.5  # pixel centres (y, x) of the iris model's 64 px eye crop


def _iris_shade(crop: np.ndarray, pts: np.ndarray) -> float:
    """How light the iris disc is against the skin just below the eye (mean luma, iris / skin), in the iris model's
    eye crop (RGB, [0, 1]; `pts` its 76 points in crop px). An open eye shows a dark iris (median 0.39 on the labelled
    eyes' train half); a shut one shows its lid, nearly as light as skin (0.65). NaN where either area is empty."""
    yy, xx = _GRID
    c, r = _iris(pts)
    iris = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= (0.7 * r) ** 2  # inside the rim: no white of the eye
    low = pts[LOWER, :2][np.argsort(pts[LOWER, 0])]
    x0, x1 = low[0, 0], low[-1, 0]
    below = yy - np.interp(xx, low[:, 0], low[:, 1])  # px under the lower lid
    skin = (xx >= x0 + 0.2 * (x1 - x0)) & (xx <= x1 - 0.2 * (x1 - x0)) & (below > 0.5 * r) & (below < 1.5 * r)
    if not iris.any() or not skin.any():
        return float("nan")
    grey = crop @ _LUMA
    return float(grey[iris].mean() / max(float(grey[skin].mean()), 1e-3))


def _describe(pyr: _Pyramid, roi, det_score: float, passes: int, models: dict[str, OnnxModel], min_score: float,
              trace: dict | None, eyes_below: float = 0.0) -> Face | None:
    """The face in `roi` (centre, axis, side): FaceMesh `passes` times, each on the ROI the last mesh gives, then
    the eyes and the expression (for a face narrower than `eyes_below`, later: `complete`); None where FaceMesh's
    face probability stays below `min_score`."""
    centre, axis, side = roi
    for _ in range(passes):
        last = (centre, axis, side)
        crop, a = pyr.crop(centre, axis, side, 192)
        x = _trace(trace, "facemesh", crop[None].astype(np.float32) / 255)
        mesh, flag = models["facemesh"].run({"image": x}, ["mesh", "faceflag"])
        score = float(flag.ravel()[0])
        if score < min_score:
            return None
        pts = _to_image(a, mesh.reshape(-1, 3), 192, side)
        centre, axis, side = _roi(pts, 33, 263, 1.5)
    dr, dl = (float(np.hypot(*(pts[1, :2] - pts[k, :2]))) for k in (234, 454))  # nose tip to cheek edges
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    face = Face(box=(*map(float, lo), *map(float, hi)), score=score, detector_score=det_score, landmarks=pts,
                yaw=(dr - dl) / (dr + dl + 1e-9), roi=last)
    return face if face.size < eyes_below else _read_eyes(pyr, face, crop, models, trace)


def _read_eyes(pyr: _Pyramid, face: Face, crop: np.ndarray, models: dict[str, OnnxModel], trace: dict | None) -> Face:
    """`face` with its eyes (the iris model) and expression (the emotion model, on FaceMesh's last crop) read."""
    eyes = _eyes(pyr, face.landmarks, models["iris"], trace)
    grey = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) @ _LUMA
    probs = models["emotion"].run({"image": _trace(trace, "emotion", ((grey / 255 - 0.5) * 2)[None, :, :, None])})[0][0]
    face.right_eye, face.left_eye = eyes["right_eye"], eyes["left_eye"]
    face.expression, face.roi = {n: float(p) for n, p in zip(EMOTIONS, probs)}, None
    return face


def complete(rgb: np.ndarray, face: Face, models: dict[str, OnnxModel] | None = None) -> Face:
    """A face detect_faces left without eyes and expression (`eyes_below`), with them read from `rgb`, the image it
    was found in: the same numbers as reading them at once."""
    if face.roi is None:
        return face
    pyr = _Pyramid(rgb)
    return _read_eyes(pyr, face, pyr.crop(*face.roi, 192)[0], models or MODELS, None)


def eye_in(eye: dict[str, Any], scale: tuple[float, float], origin: tuple[float, float]) -> dict[str, Any]:
    """One eye's numbers (Face.right_eye / left_eye) moved from a crop's pixels into the image's: a point p of the
    crop is at p / scale + origin. The openness and shade, ratios, are kept as measured."""
    pts = np.concatenate([eye["contour"], eye["iris"]]).astype(np.float64)
    pts[:, :2] = pts[:, :2] / np.asarray(scale) + np.asarray(origin)
    pts[:, 2] /= scale[0]
    return _eye(pts) | {"openness": eye["openness"], "shade": eye["shade"]}


def track_face(rgb: np.ndarray, landmarks: np.ndarray, det_score: float, min_score: float = 0.5, passes: int = 2,
               models: dict[str, OnnxModel] | None = None) -> Face | None:
    """The face whose `landmarks` (468 x 2+, in `rgb`'s pixels) a coarser look found, described again from the
    ROI they give, as MediaPipe tracks a face from one video frame to the next: no search of the image (the
    detector's 8 ms), FaceMesh straight away."""
    return _describe(_Pyramid(rgb), _roi(landmarks, 33, 263, 1.5), det_score, passes, models or MODELS, min_score,
                     None)


def detect_faces(rgb: np.ndarray | Deferred, min_score: float = 0.5, passes: int = 2, trace: dict | None = None,
                 models: dict[str, OnnxModel] | None = None, shrink=None, detector: str = "blazeface",
                 detector_score: float | None = None, eyes_below: float = 0.0) -> list[Face]:
    """Every face in an RGB uint8 image, largest first. `passes`: FaceMesh runs per face (the second on the ROI
    the first mesh gives, as MediaPipe tracks); `trace` collects each model's input tensors (parity check);
    `shrink`: see BlazeFace.detect; `detector`: which BlazeFace finds the faces, and `detector_score` its
    threshold (else `min_score`, which FaceMesh's face probability must reach); `eyes_below`: faces narrower than
    this come back without their eyes and expression read, for a caller that will look at them in a finer image
    (and `complete` those it does not)."""
    models = models or MODELS
    pyr, faces = _Pyramid(rgb), []
    found = models[detector].detect(rgb, min_score if detector_score is None else detector_score, trace, shrink=shrink)
    for box, det_score, kps in found:
        v = kps[1] - kps[0]  # eye to eye: MediaPipe levels the eyes before FaceMesh
        axis, centre, side = v / (np.hypot(*v) + 1e-9), (box[:2] + box[2:]) / 2, float(max(box[2:] - box[:2])) * 1.5
        face = _describe(pyr, (centre, axis, side), float(det_score), passes, models, min_score, trace, eyes_below)
        if face is not None:
            faces.append(face)
    kept: list[Face] = []
    # two detections may converge on one face after the mesh passes, or the detector may find part of a face (its
    # lower half) as a face of its own: a face mostly inside another, or around another, is the same face again.
    # The surer one stays: FaceMesh's probability, then the detector's (a face part scores ~0.55 there, a face ~0.9)
    image = (rgb.shape[1], rgb.shape[0])
    for f in sorted(faces, key=lambda f: (-f.score, -f.detector_score)):
        if not kept or not _same_face(np.array(f.box), np.array([k.box for k in kept]), image):
            kept.append(f)
    return sorted(kept, key=lambda f: -f.size)


def _in_view(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`boxes` (x0, y0, x1, y1 in the last axis) cut to an image of `size` (width, height); none comes out of
    negative size, an out-of-view one comes out empty."""
    lo = np.clip(boxes[..., :2], 0, size)
    return np.concatenate([lo, np.clip(boxes[..., 2:], lo, size)], axis=-1)


def _same_face(box: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether `box` overlaps any of `boxes` by IoU 0.5, or 70 % of the smaller of the two lies inside the other;
    the parts in view only (a face part's box reaches below the chin, often out of the frame)."""
    inter, a, b = _overlap(_in_view(box, size), _in_view(boxes, size))
    return bool(((inter / (a + b - inter + 1e-9) >= 0.5) | (inter >= 0.7 * np.minimum(a, b))).any())
