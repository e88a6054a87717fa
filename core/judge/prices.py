"""The judging step's prices, as data: what each flaw costs a photo, and how much evidence a flaw needs before a
reason may claim its points. The quality head's reading (1-10) is the score's start; core/judge/head.py spends
these prices on it. Reasons' words are in core/judge/texts.py.

Two kinds of flaw: those the head sees itself (blur, noise, a dark frame...: its points go to the reasons naming
them, priced as people price them: `PRICE`), and those it cannot see (closed eyes, a tilted horizon, a misfire, an
artefact: each lowers the head's score by its `PENALTY` times the reason's severity).
"""

from __future__ import annotations

import math

# how much a flaw the head cannot see takes off the head's score (times the reason's severity)
PENALTY = {"closed_eyes": 0.7, "red_eye": 0.4, "face_cut_off": 0.35, "out_of_focus": 0.5, "backlit": 0.35,
           "airbrushed_skin": 0.25, "tilted_horizon": 0.3, "low_contrast": 0.2, "clipped_highlights": 0.2,
           "soft_corners": 0.15, "misfire": 0.9,
           "impulse_noise": 0.7, "posterised": 0.5, "pixelated": 0.85, "pasted_blocks": 0.95,
           # the damage head's kinds at full severity take a photo to the foot of the scale (1): KADID's people give
           # their heaviest levels 1.3-1.9 of 5, as low as a level-5 blur (docs/eval.md, session 17)
           "colour_bleed": 1.0, "washed_out": 1.0, "smeared": 1.0, "jagged": 1.0, "haloed": 1.0,
           "misaligned_colour": 1.0, "oversaturated": 1.0}
# The head's scale puts the median clean photo at 7.5 (models/train/quality.py: knots). Points below that are what
# the head took for flaws, and go to the reasons naming them; the gap from 7.5 to 10 is no flaw (a sound photo is
# not a great one: the moment and appeal say what lifts it). Counted from 10, a clean photo at 7 "lost" 3 points
# to flaws, and a quarter of clean real photos carried a flaw reason costing half a point or more (docs/eval.md)
CLEAN = 7.5
# the head's flaw classes -> the flaw scorer that measures each; EVIDENCE: interquartile ranges above the clean median
SCORER = {"blur": "gaussian_blur", "motion": "motion_blur", "noise": "noise", "jpeg": "jpeg", "under": "underexpose",
          "over": "overexpose", "contrast": "low_contrast", "vignetting": "vignetting", "ca": "chromatic_aberration"}
EVIDENCE = 2.5  # chosen on the train part of the clean photos (core/lab/falsealarms.py; docs/eval.md)
GUESS = 1.0  # IQRs above the clean median a flaw's scorer needs for the flaw to name a low score
# stops under middle grey (the portrait check's face_ev) from which a face is lost in shadow: only then does a bright
# background cost points ("backlit is a flaw only when the subject's face is lost"); a face that still reads (carved
# totems against a lit forest at -2 EV) keeps its "backlit" reason, at no cost
FACE_LOST_EV = -2.5
CLASSICAL = ("sharpness", "noise", "exposure", "lens")  # the measuring analyzers (not the quality finding's checks)
MISFIRE = "misfire"  # a finger or strap over the frame, a colour cast over a region: a reject (exposure analyzer)
ARTEFACTS = ("impulse_noise", "posterised", "pixelated", "pasted_blocks",  # core/analyzers/artefacts.py; PENALTY: KADID
             "colour_bleed", "washed_out", "smeared", "jagged",  # core/analyzers/damage.py (its severity: people's
             "haloed", "misaligned_colour", "oversaturated")  # loss)


# The head's points for a flaw class, priced as people price that flaw. KADID-10k's people mind slight noise far less
# than the head does (level-1 white noise: people 3.9 of 5, well above a level-3 Gaussian blur's 2.9; the head put it
# a point below). class -> (the share of its points kept when they are few, the points from which all are kept),
# linear between. Noise keeps 70 %, chosen on training photos' KADID copies (docs/eval.md, "Flaws priced as people
# price them"): a lower share lets real noisy photos (real_defects/noisy/Vinegar.jpg) through as good
PRICE: dict[str, tuple[float, float]] = {"noise": (0.7, 10.0)}
# People's marks for noise also fall on a flatter curve than the head's: from level 2 to level 5 of KADID's white noise
# they fall 1.1 points of 5 (3.4 -> 2.3), a Gaussian blur's 3.1 (4.4 -> 1.3), while the head takes 3.8 -> 5.1 of its
# points for it. class -> (the points from which, the share of each further point charged). Chosen on the training
# photos' KADID copies (docs/eval.md, session 17) among the settings under which the two real noisy photos judged bad
# stay as they are and no noisy copy of a flawed photo scores above it (the head blames such a copy's every point on
# the noise: a flatter curve past 3.5 points lifted an underexposed photo's noisy copy over the photo itself)
KNEE: dict[str, tuple[float, float]] = {"noise": (3.5, 0.45)}


def _share(c: str, points: float) -> float:
    low, full = PRICE.get(c, (1.0, 0.0))
    return 1.0 if points >= full else low + (1.0 - low) * points / full


def priced(flaws: dict[str, float], lost: float) -> dict[str, float]:
    """The flaw classes' shares of the head's lost points, each times the share of its points people would charge."""
    out = {}
    for c, p in flaws.items():
        points = lost * p
        share = _share(c, points)
        knee, beyond = KNEE.get(c, (math.inf, 1.0))
        if points > knee:  # past the knee each point costs `beyond`, never more than the plain price
            share = min(share, (knee * _share(c, knee) + beyond * (points - knee)) / points)
        out[c] = p * share
    return out
