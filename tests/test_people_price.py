"""Noise and heavy damage priced as KADID-10k's people price them (issue 21 item 4, session 17). People's marks for
noise fall on a flat curve (white noise levels 2-5: 3.4 -> 2.3 of 5, a blur's 4.4 -> 1.3), so past 3.5 of the quality
head's points for noise each further point costs less (prices.KNEE); the damage head's kinds reach their full charge
sooner (models/train/damage.py SPAN 0.15 -> 0.06 but for the colour kinds) and at full severity take a photo to the
foot of the scale (prices.PENALTY 1.0: people give their heaviest levels 1.3-1.9 of 5).
A HELD-OUT photo's KADID copies (clean_split's test part: no setting was chosen on it), read back as a cull reads
them, and the real noisy photos of ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import analysis_frame as load

from keepers.core.judge import judgement, prices
from keepers.core.lab.eval import variant_frame
from keepers.core.lab.kadid import NAMES, copy_of

HELD_OUT = "clean/imagenet/n03710721_maillot.JPEG"  # a swimsuit on a clothes line, in clean_split's test part
DAMAGE = ("colour_bleed", "washed_out", "smeared", "jagged", "haloed", "misaligned_colour", "oversaturated")


@pytest.fixture(scope="module")
def analysed(shared_data):
    """Findings of the held-out photo's level-3 white-noise copy (people: 3.0 of 5) and level-4 high-sharpen copy
    (people: 1.6), and of the two real noisy photos a cull judged bad before this change."""
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.lab.eval import clean_split
    from keepers.core.settings import Settings

    assert HELD_OUT in {f"{p.parent.parent.name}/{p.parent.name}/{p.name}" for p in clean_split(shared_data)[1]}
    analyzers = pm.analyzers(Settings())
    frame = load(shared_data / HELD_OUT)
    out = {}
    for kind, level in (("white_noise", 3), ("high_sharpen", 4)):
        rgb = copy_of(frame.rgb, NAMES.index(kind) + 1, level, frame.photo.path.rsplit("/", 1)[-1])
        copy = variant_frame(frame, rgb)
        out[kind] = run_all(copy, analyzers)
        out[f"{kind} before"] = [f for f in out[kind] if f.analyzer != "damage"] + [damage_before(copy)]
    for name in ("Vinegar", "Old_Tom_Morris"):
        out[name] = run_all(load(shared_data / f"real_defects/noisy/{name}.jpg"), analyzers)
        out[f"{name} before"] = out[name]
    return out


def damage_before(frame):
    """The damage finding as session 16's head gave it: every kind's full charge 0.15 above its start."""
    from keepers.core.analyzers import damage
    from keepers.core.inference.embedding import frame_inner

    z = damage.head()
    span = z["span"]
    try:
        z["span"] = np.float32(0.15)
        return damage.finding(damage.severities(frame_inner(frame), damage.chroma(frame)), "2")
    finally:
        z["span"] = span


def verdicts(analysed, monkeypatch, before: bool):
    """Each copy's judgement now, or with session 16's damage span and prices: noise's points charged on one
    straight line, damage at 0.9."""
    from keepers.core.settings import Settings

    if before:
        for c in DAMAGE:  # in place: the judging step's modules hold the dict itself
            monkeypatch.setitem(prices.PENALTY, c, 0.9)
        monkeypatch.setattr(prices, "KNEE", {})
    pick = {k: k.removesuffix(" before") for k in analysed if k.endswith(" before") == before}
    return {name: judgement.judge(analysed[k], Settings()) for k, name in pick.items()}


def top(verdict):
    return max(verdict.reasons, key=lambda r: r.cost)


def test_a_held_out_noisy_copy_now_scores_above_a_worse_over_sharpened_copy_as_people_order_them(analysed,
                                                                                                monkeypatch):
    before = verdicts(analysed, monkeypatch, before=True)
    assert before["white_noise"].score < before["high_sharpen"].score, before  # ordered against people
    monkeypatch.undo()
    now = verdicts(analysed, monkeypatch, before=False)
    assert now["white_noise"].score > now["high_sharpen"].score + 0.2, now
    # each still says why in a photographer's words
    assert top(now["white_noise"]).code == "noise" and "grain" in top(now["white_noise"]).message
    assert top(now["high_sharpen"]).code == "haloed" and "halos" in top(now["high_sharpen"]).message


def test_real_noisy_photos_judged_bad_stay_bad_for_their_noise(analysed, monkeypatch):
    now = verdicts(analysed, monkeypatch, before=False)
    for name in ("Vinegar", "Old_Tom_Morris"):
        v = now[name]
        assert v.verdict == "bad", (name, v.score)
        assert top(v).code == "noise" and "grain" in top(v).message, (name, [(r.code, r.cost) for r in v.reasons])
