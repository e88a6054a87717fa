"""Portrait checks on the faces the faces analyzer found (keepers.core.analyzers.faces; boxes, iris, lids).

Closed eyes are the faces analyzer's (eyelid openness, a smile lowering the threshold); here: red eye (red share of
the pupil disc, from the iris landmarks, against the skin around it), focus on the eyes (blur measured on the eye
region at up to twice the analysis resolution, from the full-resolution photo), a face much darker than its
background (backlit), skin smoothed below the photo's own grain (airbrushed), and faces cut by the frame edge.

`check` judges them all, read it first; the measuring is in `portrait_eyes.py` (red eye and the eyes' focus, from
full-resolution crops), `portrait_face.py` (the face's light, its skin texture, its share outside the frame) and
`portrait_look.py` (the second look for a face that fills the frame).
"""

from __future__ import annotations

import numpy as np

from keepers.core.analyzers import sharpness
from keepers.core.analyzers.portrait_eyes import _eyes, eye_blur, red_share
from keepers.core.analyzers.portrait_face import cut_share, face_ev, skin_texture
from keepers.core.types import Finding, Frame, Reason

# every other name this module held, from the modules that now hold it: core/analyzers/quality.py and
# tests/test_portrait.py read look_again and LOOK_AGAIN_SIDE here
from keepers.core.analyzers.portrait_eyes import RED_EYE_PX, _crop  # noqa: F401
from keepers.core.analyzers.portrait_face import SKIN_MIN_EYES  # noqa: F401
from keepers.core.analyzers.portrait_look import (  # noqa: F401
    LOOK_AGAIN_MIN, LOOK_AGAIN_SCORE, LOOK_AGAIN_SIDE, look_again,
)

MIN_FACE = 40  # px (analysis image): smaller faces are not judged here
RED_SHARE, RED_BRIGHTER = 0.25, 1.12  # share of the pupil disc strongly red; its red level over the iris ring's
EYE_SOFT = 1.1  # blur (analysis px) of the eye region above which the eyes are soft...
EYE_MARGIN = 0.5  # ...when the sharpest part of the photo is at least this much sharper
# ...and the blur is more than this share of the distance between the eyes: a face is read at its own scale, and a
# close-up's eyes 80 px apart keep their lashes and iris rim through 2 px of blur (eyes/open_assumed face_1002)
EYE_SOFT_SHARE = 0.035
BACKLIT_EV = 2.0  # face this many stops darker than the bright part of the background
SMOOTH_RATIO, GRAIN_FLOOR = 0.45, 1.0  # cheek texture below this share of the photo's grain (levels, at least)
CUT = 0.12  # share of the face outside the frame
RED_MIN_OPEN = 0.15  # eye openness below which no pupil shows, so no red eye either


def _red(frame: Frame, openness: float, centre: np.ndarray, radius: float, pupil_box: np.ndarray) -> float:
    """The red share of one eye's pupil when it looks like flash red eye, else 0."""
    if radius < 1.5 or openness < RED_MIN_OPEN:  # too small to see, or shut: no pupil shows
        return 0.0
    share, brighter = red_share(frame, centre, radius, pupil_box)
    return share if brighter >= RED_BRIGHTER else 0.0


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
