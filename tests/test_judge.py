"""The judging step: from findings to score, verdict, confidence, stars and ranked reasons."""

import pytest
from pydantic import ValidationError

from keepers.core.judge.judgement import judge
from keepers.core.settings import Settings, StarMap
from keepers.core.types import Finding, Reason


def finding(name, score, weight=1.0, *reasons):
    return Finding(analyzer=name, version="1", score=score, weight=weight, reasons=list(reasons))


def test_a_photo_with_no_flaw_scores_ten_and_is_good():
    v = judge([finding("sharpness", 1.0), finding("noise", 1.0)], Settings())
    assert v.score == 10 and v.verdict == "good" and v.stars == 5 and v.reasons == []


def test_one_severe_flaw_makes_a_photo_bad_however_good_the_rest():
    blur = Reason("out_of_focus", "Out of focus", 0.9)
    v = judge([finding("sharpness", 0.1, 1.0, blur), finding("noise", 1.0), finding("exposure", 1.0)], Settings())
    assert v.verdict == "bad" and v.score < 3
    assert v.reasons[0].code == "out_of_focus"


def test_reasons_are_ranked_by_what_they_cost_and_costs_add_up_to_the_points_lost():
    v = judge([finding("noise", 0.7, 1.0, Reason("noise", "grain", 0.4)),
                finding("sharpness", 0.3, 1.0, Reason("motion_blur", "shake", 0.8))], Settings())
    assert [r.code for r in v.reasons] == ["motion_blur", "noise"]
    assert v.reasons[0].cost > v.reasons[1].cost > 0
    assert sum(r.cost for r in v.reasons) == pytest.approx(10 - v.score, abs=0.05)


def test_a_reject_always_names_a_reason():
    v = judge([finding("mystery", 0.05)], Settings())  # a low score from an analyzer that gave no reason
    assert v.stars == -1 and v.reasons and v.reasons[0].code == "low_quality"


def test_confidence_is_lowest_at_the_threshold_and_grows_away_from_it():
    s = Settings()
    near = judge([finding("a", 0.45)], s)
    far = judge([finding("a", 0.98)], s)
    assert 0.5 <= near.confidence < far.confidence <= 1


def test_the_star_mapping_is_configurable():
    strict = Settings(stars=StarMap(reject_below=6.0, thresholds=[6, 7, 8, 9, 9.9]))
    v = judge([finding("a", 0.5)], strict)  # score 5.5
    assert v.stars == -1 and judge([finding("a", 0.5)], Settings()).stars == 2  # 5.5 >= 4.5: two stars


def test_star_thresholds_must_rise():
    with pytest.raises(ValidationError):
        StarMap(thresholds=[5, 4, 3, 2, 1])


def test_flaws_that_cost_points_become_keywords_a_photographer_can_filter_by():
    v = judge([finding("sharpness", 0.1, 1.0, Reason("out_of_focus", "Out of focus", 0.9))], Settings())
    assert "flaw|out of focus" in v.keywords


def test_a_photo_no_analyzer_could_score_gets_no_score_rather_than_ten():
    """A 1x1 PNG once scored 10/10, five stars, confidence 100 %: nothing had scored it, and no flaw meant perfect."""
    v = judge([finding("sharpness", None), finding("noise", None)], Settings())
    assert not v.judged and v.score is None and v.stars is None and v.verdict is None
    assert v.reasons and v.reasons[0].code == "unjudged"


def test_a_too_small_photo_is_not_judged_even_when_some_analyzer_scored_it():
    small = Reason("too_small", "Too small to judge: 8x8 px", 1.0)
    v = judge([finding("sharpness", 1.0), finding("quality", None, 0.0, small)], Settings())
    assert not v.judged and v.reasons == [small]


def test_a_blank_frame_is_rejected_for_that_reason_alone():
    blank = Reason("blank", "Blank frame", 1.0)
    v = judge([finding("sharpness", 0.1, 1.0, Reason("out_of_focus", "Out of focus", 0.9)),
               finding("quality", None, 0.0, blank)], Settings())
    assert v.score == 1.0 and v.stars == -1 and [r.code for r in v.reasons] == ["blank"]
