"""The moment and what people prefer (issue 21): the appeal analyzer's numbers, the points the judging step gives
for them (core/judge/moment.py) under its rules, and burst picks that keep the subject in the frame.

Real photos: scikit-image's astronaut (a smiling face toward the camera), the dog burst of ../shared/data/bursts/
clips (the dog runs out of one frame), analysed by the shipped analyzers and models.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from keepers.core.judge import group as G
from keepers.core.judge.judgement import judge
from keepers.core.judge.moment import moment
from keepers.core.settings import Settings
from keepers.core.types import Finding

SETTINGS = Settings()
THR = SETTINGS.good_threshold


def appeal_finding(**features) -> Finding:
    return Finding("appeal", "1", score=None, weight=0.0, features=features)


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    """The astronaut photo's findings from every shipped analyzer, as a cull makes them."""
    from PIL import Image

    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.io.loader import load
    from keepers.core.lab.demo import sample_photo
    from keepers.core.types import Photo

    path = tmp_path_factory.mktemp("astronaut") / "astronaut.jpg"
    Image.fromarray(sample_photo("astronaut")).save(path, quality=92)
    frame = load(Photo(str(path), "jpeg"), SETTINGS.analysis_size)
    return run_all(frame, pm.analyzers(SETTINGS)), frame


# --- the rules ---------------------------------------------------------------------------------------------------

def test_a_photo_without_flaws_stays_good_however_dull_people_find_it():
    score, reasons = moment([appeal_finding(appeal=-9.0)], THR + 0.2, SETTINGS)
    assert score >= THR  # a dull look is not a flaw
    assert [r.code for r in reasons] == ["appeal"] and reasons[0].cost > 0
    assert "pass over" in reasons[0].message and f"{-reasons[0].cost:+.1f}" in reasons[0].message


def test_a_flawed_photo_is_neither_lifted_by_its_look_or_its_moment_nor_pushed_toward_a_reject():
    best = appeal_finding(appeal=9.0, people=2.0, smile=1.0, eyes_open=1.0, eyes_judged=2.0, yaw=0.0)
    dull = appeal_finding(appeal=-9.0)
    for flawed in (THR - 0.05, THR - 0.5, 2.0):
        assert moment([best], flawed, SETTINGS) == (flawed, []) == moment([dull], flawed, SETTINGS)


def test_a_smile_and_open_eyes_raise_a_sound_photo_and_each_point_is_explained():
    sound = THR + 3.0
    plain, _ = moment([appeal_finding(people=1.0, smile=0.0, eyes_open=0.0, eyes_judged=1.0, yaw=0.0)], sound, SETTINGS)
    score, reasons = moment([appeal_finding(people=1.0, smile=0.9, eyes_open=1.0, eyes_judged=1.0, yaw=0.1)],
                            sound, SETTINGS)
    assert plain == sound and score >= sound + 1.0
    (r,) = reasons
    assert r.code == "moment" and "smile" in r.message and "eyes open" in r.message
    assert abs(-r.cost - (score - sound)) <= 0.06  # the reason's points are the points given


def test_a_main_face_cut_by_the_frame_costs_points_unless_it_is_a_close_up():
    cut = dict(people=1.0, smile=0.0, yaw=0.0, face_cut=1.0)
    score, reasons = moment([appeal_finding(face_size=0.15, **cut)], 8.0, SETTINGS)
    assert score < 8.0 and "cut by the frame" in reasons[0].message
    assert moment([appeal_finding(face_size=0.8, **cut)], 8.0, SETTINGS) == (8.0, [])


def test_the_head_that_learned_from_flowers_and_scenery_takes_nothing_from_a_photo_of_people():
    assert moment([appeal_finding(appeal=-3.0, people=1.0, smile=0.0, yaw=0.9)], 8.0, SETTINGS)[0] >= 8.0 - 0.31


# --- real photos -------------------------------------------------------------------------------------------------

def test_the_smiling_astronaut_gains_points_for_the_moment_with_a_reason_that_says_so(astronaut):
    findings, _ = astronaut
    a = next(f for f in findings if f.analyzer == "appeal")
    assert a.features["people"] == 1 and a.features["smile"] > 0.5 and a.features["eyes_open"] == 1.0
    before = judge([f for f in findings if f.analyzer != "appeal"], SETTINGS)
    after = judge(findings, SETTINGS)
    assert after.score > before.score
    said = next(r for r in after.reasons if r.code == "moment")
    assert "smile" in said.message and said.cost < 0


def test_the_appeal_analyzer_reads_the_embedding_made_already_in_well_under_a_millisecond(astronaut, monkeypatch):
    from keepers.core.analyzers.appeal import AppealAnalyzer
    from keepers.core.inference import embedding

    findings, frame = astronaut
    inputs = {f.analyzer: f for f in findings if f.analyzer in ("embedding", "faces")}
    monkeypatch.setattr(embedding, "shared_model", lambda *a, **k: pytest.fail("ran the network again"))
    a = AppealAnalyzer()
    first = a.analyze(frame, inputs)
    t = time.perf_counter()
    for _ in range(50):
        a.analyze(frame, inputs)
    per_photo = (time.perf_counter() - t) / 50
    assert np.isfinite(first.features["appeal"]) and per_photo < 1e-3


def test_the_dog_burst_picks_a_frame_with_the_dog_not_the_one_it_has_left(shared_data, tmp_path):
    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Cull

    folder = shared_data / "bursts/clips/01_dog"
    settings = Settings(catalog=tmp_path / "catalog.db")
    cull = Cull(settings, Catalog(settings.catalog), dry_run=True)
    results = {Path(r.photo.path).name: r for r in cull.run([str(folder)])}
    subject = {n: next(f.features["subject"] for f in r.findings if f.analyzer == "appeal") for n, r in results.items()}
    assert subject["01_dog_t003.jpg"] < 0.1 < 0.5 < max(subject.values())  # the frame the dog ran out of
    members = {Path(p).name: m for p, m in cull.groups.items()}
    assert len({m.group for m in members.values()}) == 1 and len(members) == 10
    pick = next(n for n, m in members.items() if m.pick)
    assert subject[pick] >= 0.5 and "the subject in the frame" in members[pick].why


def test_a_burst_of_a_person_never_picks_the_frame_the_person_has_left():
    frames = [G.GroupInput(key=f"IMG_{i}.JPG", quality=q, people=n, subject=0.0)
              for i, (q, n) in enumerate([(7.0, 1), (7.2, 1), (8.5, 0)])]  # the empty frame is the sharpest
    pick, why = G._pick(frames, "burst")
    assert pick.key == "IMG_1.JPG" and "the subject in the frame" in why
    # with no subject to lose (a landscape burst), the best frame wins as before
    scenery = [G.GroupInput(key=f"IMG_{i}.JPG", quality=q, people=0, subject=0.0) for i, q in enumerate([7.0, 8.5])]
    assert G._pick(scenery, "burst")[0].key == "IMG_1.JPG"


def test_a_group_with_everyone_s_eyes_open_gains_more_than_one_where_a_face_is_not_open():
    group = dict(people=4.0, smile=0.0, eyes_judged=4.0, yaw=0.1)
    everyone, reasons = moment([appeal_finding(eyes_open=1.0, **group)], 8.0, SETTINGS)
    most, _ = moment([appeal_finding(eyes_open=0.75, **group)], 8.0, SETTINGS)
    assert everyone > most and "everyone's eyes open" in reasons[0].message.lower()


def test_the_people_prefer_head_is_scored_only_on_pairs_whose_two_photos_it_never_saw(shared_data, monkeypatch):
    from keepers.models.train import appeal as A

    votes = A.flower_votes(shared_data)
    photos = sorted({x for p in votes for x in p})
    assert len(votes) == 400 and all(sum(v) == 22 for v in votes.values())  # 22 people, the same 400 pairs
    rng = np.random.default_rng(0)
    emb = {p: rng.random(1280).astype(np.float32) for p in photos}  # the protocol, not the photos, is under test
    seen = []
    fit = A.fit
    monkeypatch.setattr(A, "holiday_votes", lambda data: {})
    monkeypatch.setattr(A, "choose", lambda emb, votes, photos, seed=0: ((8, 10.0), 0.5))
    monkeypatch.setattr(A, "fit", lambda e, rows, k, lam: seen.append({x for a, b, _ in rows for x in (a, b)})
                        or fit(e, rows, k, lam))
    out = A.held_out(emb, shared_data)
    fold = A.folds_of(photos)
    assert len(seen) == A.FOLDS and set(out["utility"]) == set(photos)  # every photo held out once
    for f, trained_on in enumerate(seen):
        tested = {x for a, b, _, _ in out["pairs"]["flowers"] for x in (a, b) if fold[a] == f}
        assert tested and not tested & trained_on
    assert all(fold[a] == fold[b] for a, b, _, _ in out["pairs"]["flowers"])
