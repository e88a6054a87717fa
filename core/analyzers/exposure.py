"""Exposure: too dark, too bright, clipped, flat, or a subject dark against a bright background.

Brightness is judged in stops (EV) in linear light: `key` is the median against middle grey (18 %), `headroom` how
far the brightest 1 % sits below white. A photo is underexposed only when it is dark AND has headroom, so a night
scene with bright lights, or a low-key portrait with a lit face, is left alone.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer, misfire
from keepers.core.lab.distort import TO_LINEAR
from keepers.core.types import Finding, Frame, Reason

MIN_SIDE = 32

_LIN = TO_LINEAR.astype(np.float64)
UNDER_EV = 1.0  # stops of brightening the photo could take, above which it is underexposed
OVER = 2.0  # key + 4 * clipped share + 2 * 5th percentile, above which it is overexposed
BLOWN, BLACK = 0.12, 0.15  # share of the frame pure white / pure black
FLAT = 0.5  # 1st-99th percentile luma spread below which the photo is flat
BACKLIT_EV = 2.5  # subject (darker part of the centre) this many stops darker than a bright surround


def _ev(code: float) -> float:
    """Stops from middle grey of an sRGB code value in [0, 1]."""
    return float(np.log2(max(_LIN[int(round(code * 255))], 1e-4) / 0.18))


def _regions(small8: np.ndarray) -> tuple[float, float, float, float]:
    """Luma (sRGB, 0..1) of the subject area (centre to bottom; its darker part, the 35th percentile) and the
    medians of the top, left and right bands, from the uint8 luma at 48 x 36."""
    small = small8.astype(np.float32) / 255.0
    centre = small[11:34, 12:36]
    return (float(np.percentile(centre, 35)), float(np.median(small[:9])), float(np.median(small[:24, :9])),
            float(np.median(small[:24, -9:])))


class ExposureAnalyzer(Analyzer):
    name = "exposure"
    # 2: misfires (a finger or strap over part of the frame, a colour cast over a region); 3: misfires need a softer
    # edge (a clean photo's dark corner or coloured object was taken for one)
    version = "3"
    weight = 0.8

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:  # a thumbnail-sized image shows too little to judge
            return Finding(self.name, self.version, None)
        rgb = frame.rgb
        y8 = frame.grey8
        hist = cv2.calcHist([y8], [0], None, [256], [0, 256]).ravel()
        hist /= max(hist.sum(), 1.0)
        cdf = np.cumsum(hist)
        p1, p5, p50, p95, p99 = (min(255, int(np.searchsorted(cdf, q))) / 255 for q in (0.01, 0.05, 0.5, 0.95, 0.99))
        r, g, b = cv2.split(rgb)
        clipped = float(np.count_nonzero(cv2.max(cv2.max(r, g), b) >= 254)) / y8.size  # any channel blown
        blown, black = float(hist[250:].sum()), float(hist[:4].sum())
        key, headroom = _ev(p50), -float(np.log2(max(_LIN[int(round(p99 * 255))], 1e-4)))
        under = min(headroom, -key - 0.5)
        over = key + 4 * clipped + 2 * p5
        centre, top, left, right = _regions(frame.grey_shrunk((48, 36), u8=True))
        surround = min(top, max(left, right))  # the sky above and at least one side
        backlit_ev = _ev(surround) - _ev(centre)

        reasons: list[Reason] = []
        backlit = backlit_ev >= BACKLIT_EV and surround >= 0.7 and centre <= 0.4
        if under >= UNDER_EV:
            reasons.append(Reason("underexposed", f"Underexposed: about {under:.1f} stops too dark",
                                  _sev(under, UNDER_EV, 3.5)))
        elif backlit:  # the bright background is then the cause, not a second flaw
            reasons.append(Reason("backlit", "Backlit: the subject is much darker than the bright background",
                                  _sev(backlit_ev, BACKLIT_EV, 5.0)))
        if over >= OVER and clipped > 0.02 and not backlit:
            reasons.append(Reason("overexposed", "Overexposed: too bright, highlight detail lost",
                                  _sev(over, OVER, 4.0)))
        elif blown >= BLOWN:
            reasons.append(Reason("clipped_highlights", f"Clipped highlights: {blown:.0%} of the frame is pure white",
                                  _sev(blown, BLOWN, 0.5, top=0.6)))
        if black >= BLACK and not any(r.code == "underexposed" for r in reasons):
            reasons.append(Reason("clipped_shadows", f"Clipped shadows: {black:.0%} of the frame is pure black",
                                  _sev(black, BLACK, 0.6, top=0.5)))
        # a dark photo is compressed towards black anyway; it is flat too only if its blacks are lifted
        flat = p99 - p1 < FLAT and not any(r.code == "overexposed" for r in reasons)
        if flat and (p1 > 0.25 * p99 or not any(r.code == "underexposed" for r in reasons)):
            reasons.append(Reason("low_contrast", "Low contrast: flat, washed-out tones",
                                  _sev(FLAT - (p99 - p1), 0.0, 0.35)))
        mf = misfire.measure(frame)  # a reject whatever the tones: the judging step makes it one
        if mf["share"]:
            reasons.append(Reason("misfire", f"Misfire: something covers {mf['where']} (a finger or strap?)", 1.0))
        elif mf["cast_share"]:
            reasons.append(Reason("misfire", f"Misfire: a strong colour cast over {mf['cast_where']} (a light leak, "
                                  "or a finger over the flash?)", 1.0))
        features = {"p1": p1, "p5": p5, "p50": p50, "p95": p95, "p99": p99, "key_ev": key, "headroom_ev": headroom,
                    "under_ev": under, "over": over, "clipped": clipped, "blown": blown, "black": black,
                    "spread": p99 - p1, "backlit_ev": backlit_ev, "centre": centre, "surround": surround,
                    "misfire_share": mf["share"], "misfire_cast": mf["cast_share"]}
        score = float(np.prod([1.0 - 0.9 * r.severity for r in reasons])) if reasons else 1.0
        return Finding(self.name, self.version, score, reasons, weight=self.weight, features=features)


def _sev(x: float, lo: float, hi: float, top: float = 1.0) -> float:
    """Severity growing linearly from 0.15 at the threshold `lo` to `top` at `hi`."""
    return float(np.clip(0.15 + (top - 0.15) * (x - lo) / (hi - lo), 0.0, top))
