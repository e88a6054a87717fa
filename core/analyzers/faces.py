"""Faces analyzer: finds faces (keepers.core.inference.faces) and flags closed eyes on faces large enough to judge.

Closed = both eyes: the mean openness of the two eyes (lid gap / eye width) is below
CLOSED - SMILE * p(happy) + SHADE * (shade - SHADE_MID). One closed eye alone is not flagged: a wink is usually meant,
and the far eye of a turned face reads narrow. A laugh narrows the eyes too; the expression model's "happy" lowers
the threshold to tell a smile from a blink. An eye that reads half open is often shut (cheeks pushing the lids up,
lashes and make-up drawn as a gap): where the iris disc is nearly as light as the skin below the eye (its mean
`shade`), the lid covers it, and the threshold rises. CLOSED, SMILE and SHADE were fitted with `fit_rule` on the
train half of ../shared/data/eyes only (CEW closed vs UTKFace faces; split and refit: `python tests/test_faces.py
fit`); the tests score them on the other half.
"""

from __future__ import annotations

import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Finding, Frame, Reason

CLOSED, SMILE = 0.2, 0.03  # openness threshold, and how much a sure smile lowers it
# how much the threshold rises per unit of the eyes' shade above SHADE_MID (open eyes' median 0.39, shut ones' 0.65).
# 5-fold cross-validation on the train half (799 padded crops): F1 0.950 without the shade, 0.961 with it. A light
# (blue, grey) iris reads lighter too: narrowed by a smile, such open eyes can be taken for shut (docs/eval.md)
SHADE, SHADE_MID = 0.125, 0.5
# a shade above this says no more about a lid: three in four shut eyes read less (train half), and a face with no eye
# detail at all (a carving, a painted or blurred face) reads ~1. Capped here, no train-half decision changes, and a
# carved figure's eyes (CBSD68 101085, openness 0.25, shade ~1) no longer read shut
SHADE_MAX = 0.8
# sunglasses: each eye region's median luma below this share of the cheek's, and its spread below this share of it
# (open eyes: white and iris, spread ~0.2-0.4 of the skin; a dark lens: even). Synthetic dark lenses drawn over
# UTKFace faces read closed on 10 of 19 before (tests/test_intent.py)
LENS_DARK, LENS_EVEN = 0.4, 0.12
MIN_FACE_PX = 56  # face box side in the pixels its eyes were measured in; below it the lid points are noise
MIN_SCORE = 0.9  # FaceMesh face probability
# more turned than this, one eye is hidden. On the train half of the labelled eyes, faces turned 0.5-0.7 still
# read closed (median openness 0.09-0.13) apart from open (0.28-0.36), as frontal ones do; judging them took
# closed-eye recall from 0.855 to 0.895 with no more false alarms (F1 0.905 -> 0.927). No face there turns further
MAX_YAW = 0.7
REFINE_BELOW, MAX_REFINED = 112, 12  # smaller faces are looked at again in the full-resolution image, so many
# the most resolution that look decodes, in multiples of the analysis scale. A 24 MP JPEG's full decode costs 296 ms
# and its 1/2-scale decode (2.9x) 113 ms; on 24 MP scenes with held-out labelled eyes pasted in
# (tools/eyes_large.py), the 1/2-scale look found the same closed eyes: F1 0.733 against 0.737 (faces ~60 px
# wide), 0.165 both (~40 px), against 0.692 and 0.020 with no second look (since version 3: 0.728 against 0.733)
MAX_REFINE_GAIN = 2.5
# a face this wide (px) after the second look's gain is at the resolution the models read it at (FaceMesh's 192 px
# input holds 1.5 face widths): where an image decoded already gives that much (the loader keeps the one the
# analysis copy was shrunk from: a 24 MP JPEG's 1/4-scale decode, 1.46x the analysis scale; a 12 MP one's 1/2-scale,
# 1.95x), the look reads it and decodes nothing
REFINE_ENOUGH = 128
MIN_REFINE_GAIN = 1.4  # less resolution than this gains too little to look again


def openness(face) -> float:
    return (face.right_eye["openness"] + face.left_eye["openness"]) / 2


def shade(face) -> float:
    """The eyes' mean shade (iris luma over skin luma), at most SHADE_MAX; SHADE_MID, which moves nothing, where it
    could not be read."""
    v = (face.right_eye["shade"] + face.left_eye["shade"]) / 2
    return SHADE_MID if np.isnan(v) else min(float(v), SHADE_MAX)


def threshold(happy, shades, closed: float = CLOSED, smile: float = SMILE, shade_k: float = SHADE):
    """The openness below which eyes are shut, for p(happy) and shade (numbers or arrays of them)."""
    return closed - smile * happy + shade_k * (shades - SHADE_MID)


def closedness(face) -> float:
    """0..1, 0.5 at the threshold; 0.015 of openness is about one logit."""
    t = threshold(face.expression.get("happy", 0.0), shade(face))
    return float(1 / (1 + np.exp(-(t - openness(face)) / 0.015)))


def sunglasses(grey8: np.ndarray, face: dict) -> bool:
    """Dark lenses over both eyes: the eye regions much darker than the cheeks below them and even (no white of the
    eye, no iris edge). The lids cannot be seen, so the eyes are not judged: sunglasses are not closed eyes."""
    c1, c2 = (np.array(face[s]["iris_centre"], float) for s in ("right_eye", "left_eye"))
    d = float(np.hypot(*(c2 - c1)))
    if d < 8:
        return False
    down = np.array([-(c2 - c1)[1], (c2 - c1)[0]]) / d
    down = down if down[1] >= 0 else -down
    h, w = grey8.shape
    box = lambda c, r: grey8[int(max(0, c[1] - r)) : int(min(h, c[1] + r)), int(max(0, c[0] - r)) : int(min(w, c[0] + r))]  # noqa: E731
    for c in (c1, c2):
        eye, cheek = box(c, 0.12 * d), box(c + 0.6 * d * down, 0.1 * d)
        if eye.size < 4 or cheek.size < 4:
            return False
        level, skin = float(np.median(eye)), float(np.median(cheek))
        if not (level < LENS_DARK * skin and float(eye.std()) < LENS_EVEN * max(skin, 1.0)):
            return False
    return True


def judgeable(face) -> bool:
    return face.size >= MIN_FACE_PX and face.score >= MIN_SCORE and abs(face.yaw) <= MAX_YAW


def fit_rule(opn: np.ndarray, happy: np.ndarray, shades: np.ndarray, closed: np.ndarray
             ) -> tuple[float, float, float, float]:
    """Grid-search (CLOSED, SMILE, SHADE) for the best F1 of 'closed' on labelled faces; returns (closed, smile,
    shade, f1). Ties go to the smallest SMILE and SHADE: the plainest rule."""
    best = (0.0, CLOSED, SMILE, SHADE)
    for c in np.arange(0.0, 0.41, 0.025):
        for k in np.arange(0.0, 0.1, 0.005):
            for t in np.arange(0.08, 0.3, 0.0025):
                pred = opn < threshold(happy, shades, t, k, c)
                f1 = 2 * (pred & closed).sum() / max(1, pred.sum() + closed.sum())
                if f1 > best[0] + 1e-9:
                    best = (float(f1), round(float(t), 4), round(float(k), 4), round(float(c), 4))
    return best[1], best[2], best[3], best[0]


def keywords(faces: list, shape: tuple[int, ...]) -> list[str]:
    if not faces:
        return []
    main = [f for f in faces if f.size >= 0.5 * faces[0].size]  # faces sorted largest first
    out = ["people|group"] if len(faces) >= 3 else []
    if len(faces) <= 2 and faces[0].size >= 0.12 * max(shape[:2]):
        out.append("people|portrait")
    if np.mean([f.expression.get("happy", 0) > 0.5 for f in main]) >= 0.5:
        out.append("people|smiling")
    return out or ["people"]


class FacesAnalyzer(Analyzer):
    """Score 1 with no closed eyes; a closed-eyed main subject drives it towards 0.1. None: no face to judge."""

    name = "faces"
    # 2: the second look at small eyes decodes at most MAX_REFINE_GAIN x the analysis scale; 3: it tracks the face
    # from the first look's landmarks instead of searching the crop again; 4: it reads the loader's decode where that
    # is enough (REFINE_ENOUGH); 5: such a face's eyes and expression are read in that look only; 6: a face found
    # inside another (part of it, found again) is dropped; 7: faces turned up to MAX_YAW 0.7 (was 0.5) are judged;
    # 8: the iris's shade against the skin moves the closed-eye threshold (SHADE), refitted; 9: the shade's lift is
    # capped (SHADE_MAX); 10: eyes behind sunglasses are not judged (data "sunglasses")
    version = "10"

    def __init__(self, providers: list[str] | None = None):
        self._providers = providers
        self._models = None

    def analyze(self, frame: Frame) -> Finding:
        from keepers.core.inference import faces as facelib  # imports cv2/onnxruntime in the worker, not at plugin load

        if self._models is None:
            self._models = facelib.load_models(self._providers)
        # a face small enough to be looked at again has its eyes and expression read in that look only: reading them
        # in the analysis image too cost the iris and emotion models 9 ms a face, for numbers the finer look replaced
        found = facelib.detect_faces(frame.rgb, models=self._models, shrink=frame.shrunk, eyes_below=REFINE_BELOW)
        looks = []  # (face in the analysis image, the face its eyes are judged on, its dict)
        for i, f in enumerate(found):
            look = self._at_full_res(frame, f, facelib) if f.size < REFINE_BELOW and i < MAX_REFINED else None
            if look is None:  # judged as the analysis image shows it
                facelib.complete(frame.rgb, f, self._models)
                looks.append((f, f, f.as_dict()))
                continue
            g, scale, origin = look  # the box, score and yaw stay the first look's; eyes and expression are g's
            f.right_eye, f.left_eye = (facelib.eye_in(e, scale, origin) for e in (g.right_eye, g.left_eye))
            f.expression = dict(g.expression)
            looks.append((f, g, f.as_dict() | {"full_res": True}))
        data = {"faces": [d for _, _, d in looks]}
        judged = [(f, g, d) for f, g, d in looks if judgeable(g)]
        severity, closed = 0.0, 0
        for f, g, d in judged:
            if sunglasses(frame.grey8, d):  # the lids are hidden: no reading of them counts
                d["sunglasses"] = True
                continue
            p = closedness(g)
            d["eyes_closed"] = round(p, 3)
            if p > 0.5:
                closed += 1
                prominence = min(1.0, f.size / judged[0][0].size)  # the main subject matters most
                severity = max(severity, p * (0.4 + 0.6 * prominence))
        reasons = []
        if closed:
            who = "" if len(judged) == 1 else f" ({closed} of {len(judged)} faces)"
            reasons.append(Reason("closed_eyes", f"Eyes closed{who}", severity))
        features = {"faces": float(len(found)), "faces_judged": float(len(judged)), "faces_closed_eyes": float(closed)}
        if judged:
            features["min_openness"] = min(openness(g) for _, g, _ in judged)
        return Finding(self.name, self.version, score=1.0 - 0.9 * severity if judged else None, reasons=reasons,
                       weight=1.0, features=features, data=data, keywords=keywords(found, frame.rgb.shape))

    def _at_full_res(self, frame: Frame, face, facelib):
        """The face described again in a full-resolution crop twice its size, with the crop's scale (x, y) and
        origin in analysis pixels; None where that gains nothing."""
        import cv2

        h, w = frame.rgb.shape[:2]
        cx, cy, half = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2, face.size
        box = (max(0, int(cx - half)), max(0, int(cy - half)), min(w, int(cx + half) + 1), min(h, int(cy + half) + 1))
        want = min(MAX_REFINE_GAIN, max(1.5, 2 * REFINE_BELOW / max(face.size, 1.0)))  # more is not used below
        crop = frame.full_crop(box, max_gain=want, min_gain=max(MIN_REFINE_GAIN, REFINE_ENOUGH / max(face.size, 1.0)))
        gain = crop.shape[1] / max(1, box[2] - box[0])
        if gain < MIN_REFINE_GAIN:
            return None
        if face.size * gain > 2 * REFINE_BELOW:  # more pixels than the models look at: shrink, cheaper and sharper
            f = 2 * REFINE_BELOW / (face.size * gain)
            crop, gain = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), gain * f
        # tracked from where the first look put its landmarks, as MediaPipe follows a face across video frames:
        # searching the crop again cost the detector's 8 ms and found the same face
        gy = crop.shape[0] / max(1, box[3] - box[1])
        pts = (face.landmarks[:, :2] - (box[0], box[1])) * (gain, gy)
        g = facelib.track_face(np.ascontiguousarray(crop), pts, face.detector_score, models=self._models)
        if g is None or np.hypot((g.box[0] + g.box[2]) / 2 / gain + box[0] - cx,
                                 (g.box[1] + g.box[3]) / 2 / gy + box[1] - cy) >= 0.25 * face.size:
            return None
        return g, (gain, gy), (box[0], box[1])


@hookimpl
def keepers_analyzers(settings):
    return [FacesAnalyzer(providers=getattr(settings, "providers", None))]
