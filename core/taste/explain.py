"""What a profile prefers, in words: the model's utility over the photos it learned from, read back against what
those photos show (the embedding's ImageNet labels) and what the analyzers measured. A label whose photos the
profile ranks above (or below) its average, and the measurements the utility follows most closely."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from keepers.core.taste.features import Seen
from keepers.core.taste.model import Model

# measurements worth naming, in words. Only these are named: the analyzers' other numbers (percentiles, scorer
# internals) would read as code to a photographer, and several say the same thing as one of these
WORDS = {
    "appeal.appeal": ("the kind of photo most people like", "photos most people would pass over"),
    "appeal.people": ("photos with people in them", "photos without people"),
    "appeal.smile": ("smiling faces", "serious faces"),
    "appeal.face_size": ("people close up", "people small in the frame"),
    "exposure.p1": ("lifted, hazy shadows", "deep blacks"),
    "exposure.p99": ("bright highlights", "subdued highlights"),
    "exposure.backlit_ev": ("a bright surround behind a darker middle", "a middle brighter than its surround"),
    "lens.subject_lift_ev": ("a subject lit brighter than its surroundings", "evenly lit scenes"),
    "sharpness.blur_median": ("softer photos overall", "photos sharp all over"),
    "quality.flaw_motion_blur": ("more motion blur", "steadier shots"),
    "quality.head_score": ("technically better photos", "technically weaker photos"),
    "exposure.p50": ("brighter photos", "darker photos"),
    "exposure.key_ev": ("brighter photos", "darker photos"),
    "exposure.spread": ("more contrast", "softer, flatter tones"),
    "exposure.clipped": ("more clipped highlights", "fewer clipped highlights"),
    "sharpness.blur_best": ("softer detail", "crisper detail"),
    "noise.noise_level": ("grainier photos", "cleaner photos"),
    "lens.vignetting_ev": ("darker corners (vignetting)", "evenly lit corners"),
    "faces.faces": ("photos with people in them", "photos without people"),
    # the look in named terms (keepers.core.taste.look); a colour's other side is no colour in particular, so a
    # profile that ranks it low is said to pass it over
    "look.pink": ("pink and purple subjects", None),
    "look.red": ("red subjects", None),
    "look.yellow": ("yellow and orange subjects", None),
    "look.green": ("green subjects", None),
    "look.blue": ("blue subjects", None),
    "look.white": ("white subjects", None),
    "look.vivid": ("vivid, saturated colour", "muted, quiet colour"),
    "look.fills": ("the subject filling the frame", "the subject small in a wider view"),
    "look.off_centre": ("the subject off centre", "the subject in the middle"),
    "look.soft_background": ("a sharp subject against a soft background", "detail all through the frame"),
}


def describe(model: Model, photos: list[Seen], most: int = 2) -> list[str]:
    """Sentences, strongest first. Empty with too few photos to say anything."""
    if len(photos) < 8:
        return []
    u = model.utility(photos)
    out = []
    by_label: dict[str, list[float]] = defaultdict(list)
    for p, x in zip(photos, u):
        for name in p.labels[:1]:  # the photo's top label: what it shows most
            by_label[name].append(float(x))
    means = sorted(((float(np.mean(v)), k, len(v)) for k, v in by_label.items() if len(v) >= 3), reverse=True)
    likes = [f"{k} ({m:+.1f})" for m, k, _ in means[:most] if m > 0.25]
    dislikes = [f"{k} ({m:+.1f})" for m, k, _ in means[::-1][:most] if m < -0.25]
    if likes:
        out.append("you keep photos of " + " and ".join(likes) + " over the rest")
    if dislikes:
        out.append("you pass over photos of " + " and ".join(dislikes))
    keys = sorted({k for p in photos for k in p.measures})
    corr = []
    for k in keys:
        v = np.array([p.measures.get(k, np.nan) for p in photos], float)
        ok = np.isfinite(v)
        if ok.sum() >= 8 and np.std(v[ok]) > 1e-9:
            corr.append((float(np.corrcoef(v[ok], u[ok])[0, 1]), k))
    corr = [c for c in corr if np.isfinite(c[0]) and abs(c[0]) >= 0.2 and c[1] in WORDS]
    said = set()
    for r, k in sorted(corr, key=lambda c: -abs(c[0])):
        words = WORDS[k][0 if r > 0 else 1]
        verb = "prefer"
        if words is None:
            words, verb = WORDS[k][0], "pass over"
        if words in said:  # two measures of one thing (key_ev and p50: brightness) are said once
            continue
        said.add(words)
        out.append(f"you {verb} {words} (correlation {r:+.2f})")
        if len(said) == most:
            break
    return out
