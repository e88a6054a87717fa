"""Faces: MediaPipe BlazeFace -> FaceMesh -> Iris, plus an expression CNN, on onnxruntime; numpy/cv2 around them.

Sides: `left_eye` is the subject's LEFT eye, which appears on the image's right in an upright frontal photo (mesh
landmarks 263/362); `right_eye` is the subject's right eye (landmarks 33/133), at the smaller x. The iris model
knows one eye only, so the left eye's crop is mirrored before it and its points mirrored back, as MediaPipe does.
Coordinates are pixels of the array given (x right, y down); z is in the same scale, relative.

The pieces, read from here: face_crop.py (the image as the models see it: crops, ROIs), face_detect.py (BlazeFace),
face_mesh.py (one face: FaceMesh, then the eyes and the expression; the Face record) and face_eyes.py (the iris
model's eye numbers). This module holds the models and the flow: detect_faces, track_face, complete.
"""

from __future__ import annotations

import numpy as np

from keepers.core.inference.face_crop import Deferred, Pyramid, square_roi
from keepers.core.inference.face_detect import BlazeFace, BlazeFaceFront, iou, overlap
from keepers.core.inference.face_eyes import eye_in
from keepers.core.inference.face_mesh import EMOTIONS, Face, describe, read_eyes
from keepers.core.inference.runtime import OnnxModel

# the names above are also this module's, for its callers (the faces analyzer, the portrait check, the export's
# parity check, the tests)
__all__ = ["EMOTIONS", "MODELS", "BlazeFace", "BlazeFaceFront", "Deferred", "Emotion", "Face", "FaceMesh", "Iris",
           "complete", "detect_faces", "eye_in", "iou", "load_models", "track_face"]


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


def complete(rgb: np.ndarray, face: Face, models: dict[str, OnnxModel] | None = None) -> Face:
    """A face detect_faces left without eyes and expression (`eyes_below`), with them read from `rgb`, the image it
    was found in: the same numbers as reading them at once."""
    if face.roi is None:
        return face
    pyr = Pyramid(rgb)
    return read_eyes(pyr, face, pyr.crop(*face.roi, 192)[0], models or MODELS, None)


def track_face(rgb: np.ndarray, landmarks: np.ndarray, det_score: float, min_score: float = 0.5, passes: int = 2,
               models: dict[str, OnnxModel] | None = None) -> Face | None:
    """The face whose `landmarks` (468 x 2+, in `rgb`'s pixels) a coarser look found, described again from the
    ROI they give, as MediaPipe tracks a face from one video frame to the next: no search of the image (the
    detector's 8 ms), FaceMesh straight away."""
    return describe(Pyramid(rgb), square_roi(landmarks, 33, 263, 1.5), det_score, passes, models or MODELS, min_score,
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
    pyr, faces = Pyramid(rgb), []
    found = models[detector].detect(rgb, min_score if detector_score is None else detector_score, trace, shrink=shrink)
    for box, det_score, kps in found:
        v = kps[1] - kps[0]  # eye to eye: MediaPipe levels the eyes before FaceMesh
        axis, centre, side = v / (np.hypot(*v) + 1e-9), (box[:2] + box[2:]) / 2, float(max(box[2:] - box[:2])) * 1.5
        face = describe(pyr, (centre, axis, side), float(det_score), passes, models, min_score, trace, eyes_below)
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
    inter, a, b = overlap(_in_view(box, size), _in_view(boxes, size))
    return bool(((inter / (a + b - inter + 1e-9) >= 0.5) | (inter >= 0.7 * np.minimum(a, b))).any())
