"""A sharp, lit subject that stands out from a darker rest (issue 21 items 2 and 6-7): the quality head, reading the
whole frame, put flowers people liked under the line for the backdrop around them (a rose on black "reads darker than
most sound photos"), on flaw classes no flaw scorer confirms. Where the subject map finds a lit subject in sharp
detail with no grain, that doubt counts half (core/judge/intent.sure_subject, head.py), and the photo says what was
recognised. Real photos of ../shared/data, the shipped analyzers and models.
"""

from __future__ import annotations

import pytest

from keepers.core.judge.flaws import DOUBT, named_flaw
from keepers.core.judge.judgement import judge
from keepers.core.settings import Settings

SETTINGS = Settings()


def _found(frames):
    from keepers.core import pm
    from keepers.core.analyzers import run_all

    analyzers = pm.analyzers(SETTINGS)
    return {k: run_all(f, analyzers) for k, f in frames.items()}


def _frame(path):
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    return load(Photo(str(path), "jpeg"), SETTINGS.analysis_size)


@pytest.fixture(scope="module")
def found(shared_data):
    from keepers.core.lab.eval import distorted, variant_frame

    flowers, low = shared_data / "taste/flowers/images", shared_data / "real_defects/lowlight"
    frames = {n: _frame(flowers / n) for n in ("252.jpg", "87.jpg")}
    frames |= {f"lowlight/{n}": _frame(low / n) for n in ("8.jpg", "58.jpg")}
    frames["Vinegar"] = _frame(shared_data / "real_defects/noisy/Vinegar.jpg")
    # a blurred copy of the rose, as the eval's synthetic pairs make it: its detail is no longer sharp
    frames["252 blurred"] = variant_frame(frames["252.jpg"], distorted(frames["252.jpg"].rgb, "gaussian_blur", 2,
                                                                       "252.jpg"))
    return _found(frames)


def test_a_rose_on_black_people_preferred_is_kept_and_says_its_subject_is_sharp_and_lit(shared_data, found):
    """17 of 22 people chose rose 252 (lit, sharp, on a black backdrop) over 87. It was judged bad at 3.68 on the
    model's doubt alone ("reads darker than most sound photos, which the exposure measure does not confirm")."""
    from keepers.models.train.appeal import flower_votes

    w, l = (str(shared_data / "taste/flowers/images" / n) for n in ("252.jpg", "87.jpg"))
    assert flower_votes(shared_data)[(w, l)] == [17, 5]  # 252 sorts first: 17 chose it
    rose, other = judge(found["252.jpg"], SETTINGS), judge(found["87.jpg"], SETTINGS)
    assert rose.verdict == "good" and rose.score > other.score  # in people's order, and a keeper
    said = [r for r in rose.reasons if r.code == "sure_subject"]
    assert said and said[0].cost == 0 and "sharp, lit subject" in said[0].message.lower()
    assert not any(r.message.startswith(DOUBT) for r in rose.reasons) and not named_flaw(rose.reasons)


def test_a_blurred_copy_of_that_rose_is_not_excused_and_stays_below_it(found):
    """The rule asks for sharp detail (sharpness.blur_best): a synthetic blur leaves the subject lit and standing out,
    and would otherwise get the same half of its doubt back."""
    copy, rose = judge(found["252 blurred"], SETTINGS), judge(found["252.jpg"], SETTINGS)
    assert not any(r.code == "sure_subject" for r in copy.reasons)
    assert copy.score < rose.score - 1


def test_real_low_light_and_noisy_photos_keep_their_bad_verdict(found):
    """real_defects judged bad on the model's doubt: lowlight 8 (its subject dim too), 58 (no subject lighter than the
    rest) and noisy/Vinegar (grain the noise scorer reads): still bad on the points they lost, and the rule says
    nothing of them."""
    for k in ("lowlight/8.jpg", "lowlight/58.jpg", "Vinegar"):
        v = judge(found[k], SETTINGS)
        assert v.verdict == "bad" and v.reasons[0].cost >= 0.5, k
        assert not any(r.code == "sure_subject" for r in v.reasons), k
