"""Flaws priced as people price them (issue 21 item 4): KADID-10k's people mind slight noise less than the quality
head does (a level-1 white noise, people 3.9 of 5, is far better than a level-3 Gaussian blur, 2.9), so the judging
step keeps only part of the head's points for slight noise (prices.PRICE); heavy noise, and a real noisy photo,
are still judged bad. Real photos from ../shared/data, the copies core/lab/kadid.py's as a cull reads them."""

from __future__ import annotations

import pytest
from helpers import analysis_frame as load

from keepers.core.judge import judgement, prices
from keepers.core.lab.eval import variant_frame
from keepers.core.lab.kadid import NAMES, copy_of

# a clean photo of the KADID fitting set (training photos only: clean_split's train part, every 6th)
PHOTO = "clean/imagenet/n04467665_trailer_truck.JPEG"


@pytest.fixture(scope="module")
def analysed(shared_data):
    """The analyzers' findings for the photo's slightly noisy, moderately blurred and very noisy KADID copies, and
    for a real noisy photo."""
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.settings import Settings

    analyzers = pm.analyzers(Settings())
    frame = load(shared_data / PHOTO)
    out = {}
    for kind, level in (("white_noise", 1), ("gaussian_blur", 3), ("white_noise", 5)):
        rgb = copy_of(frame.rgb, NAMES.index(kind) + 1, level, frame.photo.path.rsplit("/", 1)[-1])
        out[f"{kind}-{level}"] = run_all(variant_frame(frame, rgb), analyzers)
    out["real"] = run_all(load(shared_data / "real_defects/noisy/Vinegar.jpg"), analyzers)
    return out


def scores(analysed, monkeypatch, price) -> dict[str, float]:
    from keepers.core.settings import Settings

    monkeypatch.setattr(prices, "PRICE", price)
    return {k: judgement.judge(found, Settings()).score for k, found in analysed.items()}


def test_a_slightly_noisy_copy_now_scores_above_a_moderately_blurred_copy_as_people_rate_them(analysed, monkeypatch):
    now = scores(analysed, monkeypatch, prices.PRICE)
    before = scores(analysed, monkeypatch, {})  # the head's points for noise charged in full, as before
    assert now["white_noise-1"] > now["gaussian_blur-3"], now
    assert before["white_noise-1"] < before["gaussian_blur-3"], before
    assert abs(now["gaussian_blur-3"] - before["gaussian_blur-3"]) < 0.2  # a blur's price does not move


def test_heavy_noise_and_a_real_noisy_photo_are_still_judged_bad_for_their_noise(analysed, monkeypatch):
    from keepers.core.settings import Settings

    monkeypatch.setattr(prices, "PRICE", prices.PRICE)
    for key in ("white_noise-5", "real"):
        v = judgement.judge(analysed[key], Settings())
        assert v.verdict == "bad", (key, v.score)
        top = max(v.reasons, key=lambda r: r.cost)
        assert top.code == "noise", (key, [(r.code, r.cost) for r in v.reasons])
