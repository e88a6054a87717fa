"""The judging step's own reason texts, as data: the reasons it writes where no analyzer's reason explains a low
score (the flaw the quality head blames most, and the head's doubt). Analyzers word their own reasons; their
prices are in core/judge/prices.py.
"""

from __future__ import annotations

import re

from keepers.core.judge.flaws import DOUBT, GAVE, MEASURED, MOVED, TOOK, role
from keepers.core.types import Reason

# the head's flaw classes -> reason codes, for a low score no analyzer explains; FAMILY: codes that name one flaw
FAMILY = {"motion_blur": "out_of_focus", "clipped_shadows": "underexposed", "backlit": "underexposed",
          "clipped_highlights": "overexposed"}
FLAW_REASONS = {
    "blur": ("out_of_focus", "Soft: the quality model sees blur (no sharp detail)"),
    "motion": ("motion_blur", "Motion blur, as the quality model sees it"),
    "noise": ("noise", "Noise: grain or blotches, as the quality model sees it"),
    "jpeg": ("jpeg_artifacts", "Compression artefacts (blocky, smeared detail), as the quality model sees it"),
    "under": ("underexposed", "Too dark, as the quality model sees it"),
    "over": ("overexposed", "Too bright, washed out, as the quality model sees it"),
    "contrast": ("low_contrast", "Flat, low-contrast tones, as the quality model sees it"),
    "vignetting": ("vignetting", "Dark corners or edges, as the quality model sees it"),
    "ca": ("chromatic_aberration", "Colour fringes on edges, as the quality model sees it"),
}


# Judged bad on the quality model's doubt alone (no flaw named at FLAW_COST points): the verdict stays, and says so.
# The doubt is evidence, not noise: of the 24 real-defect photos (real_defects, noisy and low-light) judged bad, 11
# rest on it alone, as do 2 of 11 clean photos judged bad and 29 of 53 flowers (taste/flowers). Giving back a fifth
# of those points took the clean vs real-defect AUC from 0.795 to 0.768, and half of them to 0.740 (docs/eval.md).
# The reason keeps the code of the flaw the model blames (users filter by it; `low_quality` where it blames none),
# says it is the model's doubt, and is no named flaw (core/judge/flaws.DOUBT): no flaw| keyword, and a taste profile
# may lift the photo
DOUBTS = {"blur": "softer", "motion": "more smeared", "noise": "grainier", "jpeg": "more blocky",
          "under": "darker", "over": "brighter", "contrast": "flatter", "vignetting": "darker in the corners",
          "ca": "more fringed on its edges"}
CONFIRMS = {"blur": "the focus measure", "motion": "the motion measure", "noise": "the noise measure",
            "jpeg": "the compression measure", "under": "the exposure measure", "over": "the exposure measure",
            "contrast": "the contrast measure", "vignetting": "the falloff measure", "ca": "the fringe measure"}


def doubted(points: float, blamed: str | None, measured: str | None = None) -> Reason:
    """The reason of a photo judged bad on the quality model's doubt alone, carrying the points the doubt cost.
    `blamed`: the flaw class the model blames most, where its scorer sees some of it (GUESS) but not enough to
    claim the flaw (EVIDENCE). `measured`: an analyzer's message for that flaw, found too slight to charge."""
    if blamed in DOUBTS:
        code = FLAW_REASONS[blamed][0]
        if measured:  # "Vignetting: corners about 3.6 stops darker" -> "(the falloff measure: corners about ...)"
            what = f"it reads {DOUBTS[blamed]} than most sound photos ({CONFIRMS[blamed]}: {measured.split(': ', 1)[-1]})"
        else:
            what = f"it reads {DOUBTS[blamed]} than most sound photos, which {CONFIRMS[blamed]} does not confirm"
    else:
        code, what = "low_quality", "it scores below most sound photos with no flaw its measures confirm"
    return Reason(code, f"{DOUBT}: {what}", min(0.25, points / 10), cost=points)


# How a reason reads beside its code and points (`keepers show`, the sidecar's keepers:Reasons): without the words
# that repeat the code ("noise: Noise: visible grain" -> "noise (-2.8): visible grain in smooth areas") and without
# the points a look's message ends with ("People like photos like this: +0.6"), printed beside it already
_POINTS = re.compile(r":\s*[+-]\d+(\.\d+)?$")


def points(cost: float) -> str:
    """What a reason did to the score, signed as the photographer reads it: "-4.8" took points, "+2.1" gave them
    (a smile, the look people like: their cost is minus the points), "·" moved nothing."""
    return f"{-cost:+.1f}" if abs(cost) >= MOVED else "·"  # as role(): took or gave points


def plain(reason: Reason, code: bool = True) -> str:
    """The message, its trailing points left out; with `code` (printed beside it), its opening words too where they
    only name the code ("Clipped shadows: 52% ..." -> "52% ...", "Jagged edges: ..." of `jagged`, "alternate in a
    burst" of `alternate`)."""
    text = _POINTS.sub("", reason.message.strip())
    label, sep, rest = text.partition(": ")
    words = reason.code.replace("_", " ").casefold()
    if code and sep and rest and label.casefold().startswith(words):
        return rest
    if code and text.startswith(words + " "):  # the code as the message's subject: "alternate in a 2-frame burst..."
        return text[len(words) + 1:]
    return text


def line(reason: Reason) -> str:
    """One reason as the sidecar's keepers:Reasons holds it: "noise (-2.8): visible grain in smooth areas",
    "vignetting (not charged): corners about 1.1 stops darker", a note as before ("low_key: Dark scene, ...")."""
    r = role(reason)
    said = f" ({points(reason.cost)})" if r in (TOOK, GAVE) else " (not charged)" if r == MEASURED else ""
    return f"{reason.code}{said}: {plain(reason)}"
