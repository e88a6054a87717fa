"""One face described: FaceMesh's passes on the ROI (each on the ROI the last mesh gives), then the eyes
(face_eyes.py) and the expression (the emotion model), into a Face, the record the faces analyzer and the portrait
check read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keepers.core.inference.face_crop import Pyramid, square_roi, to_image, traced
from keepers.core.inference.face_eyes import LUMA, both_eyes
from keepers.core.inference.runtime import OnnxModel

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


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


def describe(pyr: Pyramid, roi, det_score: float, passes: int, models: dict[str, OnnxModel], min_score: float,
              trace: dict | None, eyes_below: float = 0.0) -> Face | None:
    """The face in `roi` (centre, axis, side): FaceMesh `passes` times, each on the ROI the last mesh gives, then
    the eyes and the expression (for a face narrower than `eyes_below`, later: `complete`); None where FaceMesh's
    face probability stays below `min_score`."""
    centre, axis, side = roi
    for _ in range(passes):
        last = (centre, axis, side)
        crop, a = pyr.crop(centre, axis, side, 192)
        x = traced(trace, "facemesh", crop[None].astype(np.float32) / 255)
        mesh, flag = models["facemesh"].run({"image": x}, ["mesh", "faceflag"])
        score = float(flag.ravel()[0])
        if score < min_score:
            return None
        pts = to_image(a, mesh.reshape(-1, 3), 192, side)
        centre, axis, side = square_roi(pts, 33, 263, 1.5)
    dr, dl = (float(np.hypot(*(pts[1, :2] - pts[k, :2]))) for k in (234, 454))  # nose tip to cheek edges
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    face = Face(box=(*map(float, lo), *map(float, hi)), score=score, detector_score=det_score, landmarks=pts,
                yaw=(dr - dl) / (dr + dl + 1e-9), roi=last)
    return face if face.size < eyes_below else read_eyes(pyr, face, crop, models, trace)


def read_eyes(pyr: Pyramid, face: Face, crop: np.ndarray, models: dict[str, OnnxModel], trace: dict | None) -> Face:
    """`face` with its eyes (the iris model) and expression (the emotion model, on FaceMesh's last crop) read."""
    eyes = both_eyes(pyr, face.landmarks, models["iris"], trace)
    grey = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) @ LUMA
    probs = models["emotion"].run({"image": traced(trace, "emotion", ((grey / 255 - 0.5) * 2)[None, :, :, None])})[0][0]
    face.right_eye, face.left_eye = eyes["right_eye"], eyes["left_eye"]
    face.expression, face.roi = {n: float(p) for n, p in zip(EMOTIONS, probs)}, None
    return face
