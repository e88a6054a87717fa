"""Portrait checks on the faces the faces analyzer found (keepers.core.analyzers.faces; boxes, iris, lids).

Closed eyes are the faces analyzer's (eyelid openness, a smile lowering the threshold); here: red eye (red share of
the pupil disc, from the iris landmarks, against the skin around it), focus on the eyes (blur measured on the eye
region at up to twice the analysis resolution, from the full-resolution photo), a face much darker than its
background (backlit), skin smoothed below the photo's own grain (airbrushed), and faces cut by the frame edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import noise, sharpness
from keepers.core.lab.distort import TO_LINEAR
from keepers.core.types import Finding, Frame, Reason

MIN_FACE = 40  # px (analysis image): smaller faces are not judged here
RED_SHARE, RED_BRIGHTER = 0.25, 1.12  # share of the pupil disc strongly red; its red level over the iris ring's
EYE_SOFT = 1.1  # blur (analysis px) of the eye region above which the eyes are soft...
EYE_MARGIN = 0.5  # ...when the sharpest part of the photo is at least this much sharper
# ...and the blur is more than this share of the distance between the eyes: a face is read at its own scale, and a
# close-up's eyes 80 px apart keep their lashes and iris rim through 2 px of blur (eyes/open_assumed face_1002)
EYE_SOFT_SHARE = 0.035
BACKLIT_EV = 2.0  # face this many stops darker than the bright part of the background
SKIN_MIN_EYES = 45  # px between the eyes (analysis image) for skin texture to be judged
SMOOTH_RATIO, GRAIN_FLOOR = 0.45, 1.0  # cheek texture below this share of the photo's grain (levels, at least)
CUT = 0.12  # share of the face outside the frame
# iris radius (px) enough for the red check: the pupil disc it reads (0.55 of the radius) holds ~35 pixels. A 24 MP
# JPEG's 1/4-scale decode, which the loader keeps, gives that for a face of ~100 px at the analysis size (iris radius
# ~0.042 of the face's width); a face that size got a fresh decode for each eye and one for the eye-sharpness check,
# 40-60 ms each, as the rows each needs reach further down
RED_EYE_PX = 6.0
RED_MIN_OPEN = 0.15  # eye openness below which no pupil shows, so no red eye either
LOOK_AGAIN_SIDE, LOOK_AGAIN_MIN = 384, 40  # second look: image long side, smallest face judged (px of that image)
# the short-range detector's threshold in the second look: frame-filling faces score 0.47-0.48 (MediaPipe: 0.5)
LOOK_AGAIN_SCORE = 0.45


def _eyes(face: dict) -> list[tuple[np.ndarray, float, np.ndarray]]:
    return [(np.array(face[s]["iris_centre"], float), float(face[s]["iris_radius"]), np.array(face[s]["pupil_box"]))
            for s in ("right_eye", "left_eye")]


def _crop(frame: Frame, box, max_gain: float = 8.0,
          min_gain: float | None = None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Full-resolution pixels of `box` (analysis px), at most `max_gain` x the analysis scale, from an image decoded
    already where one gives `min_gain` (Frame.full_crop): (rgb, gain, origin)."""
    h, w = frame.rgb.shape[:2]
    l, t = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    r, b = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if r - l < 2 or b - t < 2:
        return np.zeros((0, 0, 3), np.uint8), 1.0, (l, t)
    crop = frame.full_crop((l, t, r, b), max_gain=max_gain, min_gain=min_gain)
    gain = crop.shape[1] / (r - l)
    if gain > max_gain:
        f = max_gain / gain
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
        gain = max_gain
    return np.ascontiguousarray(crop), gain, (l, t)


def red_share(frame: Frame, centre: np.ndarray, radius: float, pupil_box: np.ndarray) -> tuple[float, float]:
    """(share of strongly red pixels in the pupil disc, red level of the pupil / of the iris ring around it), at the
    best resolution to hand. A flash lights the retina: the pupil turns red AND brighter in red than the iris,
    where a brown iris or a dark pupil in a small, soft photo only looks reddish."""
    pad = 1.2 * radius
    # ~12 px of iris radius is plenty, and RED_EYE_PX enough where a decode made already gives that much
    crop, gain, (l, t) = _crop(frame, (centre[0] - pad, centre[1] - pad, centre[0] + pad, centre[1] + pad),
                               max_gain=max(1.0, 12.0 / max(radius, 1e-3)),
                               min_gain=max(1.0, RED_EYE_PX / max(radius, 1e-3)))
    if crop.size == 0:
        return 0.0, 0.0
    rgb = crop.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # red, not orange or brown (green no higher than blue, give or take), and not too dark to tell
    red = ((r - np.maximum(g, b)) > 0.5 * np.maximum(r, 1.0)) & (g - b < 0.15 * r) & (r > 80)
    yy, xx = np.mgrid[: crop.shape[0], : crop.shape[1]]
    cx, cy, rad = (centre[0] - l) * gain, (centre[1] - t) * gain, radius * gain
    d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
    lids = (yy + 0.5 >= (pupil_box[1] - t) * gain) & (yy + 0.5 <= (pupil_box[3] - t) * gain)
    pupil, ring = (d <= 0.55 * rad) & lids, (d > 0.6 * rad) & (d <= 0.95 * rad) & lids
    if pupil.sum() < 4 or ring.sum() < 4:
        return 0.0, 0.0
    return float(red[pupil].mean()), float(r[pupil].mean() / max(float(r[ring].mean()), 1.0))


def _red(frame: Frame, openness: float, centre: np.ndarray, radius: float, pupil_box: np.ndarray) -> float:
    """The red share of one eye's pupil when it looks like flash red eye, else 0."""
    if radius < 1.5 or openness < RED_MIN_OPEN:  # too small to see, or shut: no pupil shows
        return 0.0
    share, brighter = red_share(frame, centre, radius, pupil_box)
    return share if brighter >= RED_BRIGHTER else 0.0


def eye_blur(frame: Frame, face: dict) -> float | None:
    """Blur (analysis px) of the region around both eyes, measured at up to 2x the analysis resolution; None where
    the crop is too small or nothing in it can be measured."""
    (c1, _, _), (c2, _, _) = _eyes(face)
    d = float(np.hypot(*(c2 - c1)))
    lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
    half = max(0.35 * d, 8.0)
    crop, gain, _ = _crop(frame, (lo[0] - 0.45 * d, lo[1] - half, hi[0] + 0.45 * d, hi[1] + half), max_gain=2.0,
                          min_gain=sharpness.MIN_REFINE_GAIN)  # as the focus check: a decode made already serves
    if min(crop.shape[:2]) < 32:
        return None
    g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    best = sharpness.measure(g, noise.luma_sigma(g))["best"]
    # at the measure's ceiling no edge around the eyes carries fine detail clear of the crop's own noise: eyes in
    # shadow, narrowed or closed, film grain. That is no reading of focus (clean real photos: a sharp old man's
    # shaded eyes, a candle-lit child read 8.0 and 9.2 px, "Eyes not sharp" took 2.6 and 3.3 points); eyes blurred
    # enough to read there leave no face to detect (the astronaut's face blurred by 4 px reads 3.4-4.0, by 6 px no
    # face is found)
    if best >= sharpness.MAX_BLUR:
        return None
    return best / gain


def face_ev(frame: Frame, face: dict) -> tuple[float, float]:
    """(stops of the face's middle, stops of the bright part of the background: its 75th percentile)."""
    y8 = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
    x0, y0, x1, y1 = face["box"]
    w, h = x1 - x0, y1 - y0
    inner = y8[int(max(0, y0 + 0.25 * h)) : int(max(0, y1 - 0.2 * h)), int(max(0, x0 + 0.2 * w)) : int(max(0, x1 - 0.2 * w))]
    mask = np.ones_like(y8, bool)
    mask[int(max(0, y0 - 0.2 * h)) : int(max(0, y1 + 0.6 * h)), int(max(0, x0 - 0.3 * w)) : int(max(0, x1 + 0.3 * w))] = False
    if inner.size < 16 or mask.sum() < 0.1 * mask.size:
        return 0.0, 0.0
    ev = lambda v: float(np.log2(max(TO_LINEAR[int(v)], 1e-4) / 0.18))  # noqa: E731
    return ev(np.median(inner)), ev(np.percentile(y8[mask], 75))


def skin_texture(frame: Frame, face: dict) -> float | None:
    """Robust std (8-bit levels) of the fine detail in both cheeks, or None where the face is too small."""
    (c1, _, _), (c2, _, _) = _eyes(face)
    d = float(np.hypot(*(c2 - c1)))
    if d < SKIN_MIN_EYES:
        return None
    across = (c2 - c1) / d
    down = np.array([-across[1], across[0]])
    if down[1] < 0:
        down = -down
    grey = frame.grey * 255
    hp = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    vals = []
    for c, out in ((c1, -across), (c2, across)):
        cx, cy = c + 0.55 * d * down + 0.05 * d * out
        s = 0.14 * d
        patch = hp[int(cy - s) : int(cy + s), int(cx - s) : int(cx + s)]
        if patch.shape[0] >= 6 and patch.shape[1] >= 6 and patch.shape == (int(cy + s) - int(cy - s),) * 2:
            vals.append(1.4826 * float(np.median(np.abs(patch - np.median(patch)))))
    return float(np.median(vals)) if vals else None


def cut_share(frame: Frame, face: dict) -> float:
    """Share of the face box outside the frame."""
    h, w = frame.rgb.shape[:2]
    x0, y0, x1, y1 = face["box"]
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    inside = max(0.0, min(x1, w) - max(x0, 0)) * max(0.0, min(y1, h) - max(y0, 0))
    return float(1 - inside / area)


def check(frame: Frame, faces: Finding, findings: dict[str, Finding]) -> tuple[list[Reason], dict]:
    """Reasons and numbers for the main faces (those at least half the size of the largest)."""
    have = {r.code for f in findings.values() for r in f.reasons}
    found = [f for f in faces.data.get("faces", []) if f.get("score", 0) >= 0.9]
    size = lambda f: max(f["box"][2] - f["box"][0], f["box"][3] - f["box"][1])  # noqa: E731
    main = [f for f in found if size(f) >= max(MIN_FACE, 0.5 * size(found[0]))] if found else []
    reasons, data = [], {"faces": len(main)}
    red = [max(_red(frame, f[side]["openness"], c, r, pb) for side, (c, r, pb) in zip(("right_eye", "left_eye"), _eyes(f)))
           for f in main]
    data["red_eye"] = [round(v, 3) for v in red]
    if red and max(red) >= RED_SHARE:
        n = sum(v >= RED_SHARE for v in red)
        reasons.append(Reason("red_eye", "Red eye from the flash" + (f" ({n} faces)" if n > 1 else ""),
                              float(np.clip(0.3 + 0.5 * max(red), 0.3, 0.8))))
    sharp = findings.get("sharpness")
    if main and sharp is not None and sharp.features:
        # measured whether or not the frame reads soft: sharp eyes make a sharp portrait (the judging step's
        # intent), however soft the rest, and the distance between them is the face's scale
        blur = eye_blur(frame, main[0])
        if blur is not None:
            (c1, _, _), (c2, _, _) = _eyes(main[0])
            data["eye_blur"], data["eyes_px"] = round(blur, 2), round(float(np.hypot(*(c2 - c1))), 1)
            if blur >= max(EYE_SOFT, EYE_SOFT_SHARE * data["eyes_px"]) and \
                    blur >= sharp.features["blur_best"] + EYE_MARGIN and not have & {"out_of_focus", "motion_blur"}:
                reasons.append(Reason("out_of_focus", "Eyes not sharp: the focus fell elsewhere",
                                      float(np.clip((blur - sharpness.SHARP) / (sharpness.BLURRED - sharpness.SHARP), 0.2, 0.9))))
    if main and "backlit" not in have and "underexposed" not in have:
        fev, bev = face_ev(frame, main[0])
        data["face_ev"], data["background_ev"] = round(fev, 2), round(bev, 2)
        if bev - fev >= BACKLIT_EV and bev >= -1.0:
            reasons.append(Reason("backlit", f"Backlit: the face is {bev - fev:.1f} stops darker than the background",
                                  float(np.clip(0.2 + 0.15 * (bev - fev - BACKLIT_EV), 0.2, 0.8))))
    if main:
        tex = skin_texture(frame, main[0])
        noise_f = findings.get("noise")
        grain = max(GRAIN_FLOOR, noise_f.features.get("noise_y", 0.0) if noise_f else 0.0)
        if tex is not None:
            data["skin_texture"], data["grain"] = round(tex, 2), round(grain, 2)
            if tex < SMOOTH_RATIO * grain:
                reasons.append(Reason("airbrushed_skin", "Airbrushed skin: smoothed beyond the photo's natural grain",
                                      float(np.clip(0.2 + 0.5 * (1 - tex / (SMOOTH_RATIO * grain)), 0.2, 0.6))))
    cut = max((cut_share(frame, f) for f in main), default=0.0)
    data["face_cut"] = round(cut, 3)
    if cut >= CUT:
        reasons.append(Reason("face_cut_off", "Face cut off by the frame edge", float(np.clip(0.2 + cut, 0.2, 0.8))))
    return reasons, data


def look_again(frame: Frame) -> tuple[list[dict], Reason | None]:
    """Faces the full-range detector misses because they fill the frame (a close-up): found again by MediaPipe's
    short-range detector, made for faces near the camera, on a 384 px copy. Returns the faces (as the faces
    analyzer's dicts, in analysis pixels) and a closed-eyes reason when the largest judgeable one has its eyes shut.

    Before, the full-range detector looked again at the copy with a grey border of half its long side. On the eye
    and red-eye photos the short-range one finds the same faces, it fires on a third as many photos without a face,
    and it costs 3.4 ms instead of 10.3 (median, 40 photos without faces)."""
    from keepers.core.inference import faces as facelib
    from keepers.core.analyzers import faces as fan

    h, w = frame.rgb.shape[:2]
    f = min(1.0, LOOK_AGAIN_SIDE / max(h, w))
    size = (round(w * f), round(h * f))
    # the detector reads its 128 px copy from the frame's halvings; the 384 px copy is made for a face found
    small = frame.rgb if f == 1.0 else facelib.Deferred((size[1], size[0], 3), lambda: frame.shrunk(size))
    found = facelib.detect_faces(small, shrink=frame.shrunk if f < 1.0 else None, detector="blazeface_front",
                                 detector_score=LOOK_AGAIN_SCORE)
    faces, reason = [], None
    for face in found:
        d = face.as_dict()
        back = lambda v: [x / f for x in v]  # noqa: E731
        d["box"] = back(d["box"])
        for side in ("right_eye", "left_eye"):
            e = d[side]
            e["iris_centre"], e["pupil_box"], e["iris_radius"] = back(e["iris_centre"]), back(e["pupil_box"]), e["iris_radius"] / f
        d["second_look"] = True
        faces.append(d)
        judged = face.score >= fan.MIN_SCORE and face.size >= LOOK_AGAIN_MIN and abs(face.yaw) <= fan.MAX_YAW
        if reason is None and judged and len(faces) == 1:
            p = fan.closedness(face)
            d["eyes_closed"] = round(p, 3)
            if p > 0.5:
                reason = Reason("closed_eyes", "Eyes closed", p)
    return faces, reason
