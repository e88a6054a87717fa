"""The personal ranking model (keepers.core.taste.model) on real people's choices: ../shared/data/taste/holidays,
10 people who chose between INRIA Holidays scenes. As in issue 23's protocol, each person's profile learns from the
first half of their choices and is judged on the second half, which it never saw."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from keepers.core.taste import model as tm


@pytest.fixture(scope="module")
def holidays(shared_data):
    """(person -> [(preferred, other)] as the model sees the photos), in the order the file gives the choices."""
    from keepers.core.inference.embedding import EmbeddingAnalyzer
    from keepers.core.io.loader import load
    from keepers.core.taste.features import seen
    from keepers.core.types import Photo

    d = shared_data / "taste" / "holidays"
    files = {r["id"]: str(d / r["file"]) for r in csv.DictReader(open(d / "manifest.csv")) if r["present"] == "1"}
    analyzer, photos = EmbeddingAnalyzer(), {}
    for path in sorted(set(files.values())):  # the embedding is all the model reads of a photo
        photos[path] = seen([analyzer.analyze(load(Photo(path, "jpeg")))])
    people = {}
    for f in sorted((d / "labels").glob("user*.txt"), key=lambda p: int(p.stem[4:])):
        ids = [line.strip().split(",") for line in f.read_text().splitlines() if "," in line]
        people[f.stem] = [(photos[files[a]], photos[files[b]]) for a, b in ids if a in files and b in files]
    return people


def halves(pairs):
    return pairs[: len(pairs) // 2], pairs[len(pairs) // 2:]


def test_a_profile_learned_from_half_of_a_persons_choices_agrees_with_most_of_the_other_half(holidays):
    # issue 23's protocol on this set: 0.693 on 2026-12-06 (the goal is 0.70; the others' majority 0.67, the
    # general score 0.59), a guard against a change that loses the person's taste
    agree = [tm.agreement(tm.fit(first), second) for first, second in map(halves, holidays.values())]
    assert np.mean(agree) >= 0.68, np.round(agree, 3)


def test_a_photo_the_person_chose_between_keeps_what_the_choice_said_of_it_and_an_unlike_photo_gets_nothing(
        holidays, write_jpeg):
    from keepers.core.inference.embedding import EmbeddingAnalyzer
    from keepers.core.io.loader import load
    from keepers.core.taste.features import seen
    from keepers.core.types import Photo
    from conftest import sample_rgb

    first, _ = halves(holidays["user10"])
    model = tm.fit(first)
    a = model.arrays
    chosen = list({id(p): p for pair in first for p in pair}.values())
    own = lambda photos: tm._rbf(tm.sketch(photos), a["seen"], a["seen_gamma"]) @ a["v"]  # noqa: E731
    assert np.mean(np.abs(own(chosen)) > 1e-3) > 0.9  # a photo seen in the choices has a credit of its own
    # photos never chosen between and unlike every one that was (an astronaut, a cup of coffee among holiday
    # scenes) are ranked by their content alone
    unlike = [seen([EmbeddingAnalyzer().analyze(load(Photo(str(write_jpeg(sample_rgb(n), f"{n}.jpg")), "jpeg")))])
              for n in ("astronaut", "coffee")]
    assert np.all(np.abs(own(unlike)) < 1e-3), own(unlike)
    assert np.allclose(model.utility(unlike), (model.vectors(unlike) @ a["w"] - a["u_mean"]) / a["u_std"], atol=1e-3)
    # stored with the profile as JSON and read back, it ranks the same
    again = tm.Model.from_json(json.loads(json.dumps(model.to_json())))
    assert np.allclose(again.utility(chosen + unlike), model.utility(chosen + unlike))


def test_a_profile_trains_with_numpy_on_one_thread_so_a_busy_machine_does_not_slow_it_tenfold(
        holidays, monkeypatch, tmp_path):
    # numpy's BLAS takes a thread per core by default; on a busy 2-core machine a 200-choice fit with its
    # cross-validation then took 9-21 s instead of 0.6 s (2026-12-06). keepers taste import and the daemon's
    # trainer both go through learn.train
    from threadpoolctl import threadpool_info

    from keepers.core.taste import learn
    from keepers.core.taste.store import Profile

    threads = []
    fit = tm.fit

    def watched(pairs, params=None):
        threads.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        return fit(pairs, params)

    monkeypatch.setattr(tm, "fit", watched)
    first = holidays["user10"][:40]
    unique = {id(p): p for pair in first for p in pair}.values()
    photos = {str(tmp_path / f"{i}.jpg"): p for i, p in enumerate(unique)}
    for name in photos:  # the photos as the catalog read them (`analyse`); train asks only that the files are there
        open(name, "wb").close()
    path = {id(p): k for k, p in photos.items()}
    profile = Profile("p", signals=[{"preferred": path[id(a)], "other": path[id(b)], "source": "csv"}
                                    for a, b in first])
    assert learn.train(profile, None, None, analyse=lambda paths, s, c: photos)[0] == len(first)
    assert threads and set(threads) == {1}, threads


def test_what_a_profile_prefers_is_said_in_words_never_as_an_analyzers_key(holidays):
    import dataclasses
    import re

    from keepers.core.taste.explain import describe

    first, _ = halves(holidays["user10"])
    model = tm.fit(first)
    photos = list({id(p): p for pair in first for p in pair}.values())
    u = model.utility(photos)
    # three measurements that follow this taste exactly: brightness twice (a percentile and the key) and a number
    # only the analyzers understand
    told = [dataclasses.replace(p, measures={"exposure.p50": x, "exposure.key_ev": 2 * x, "exposure.p5": x,
                                             "quality.head_raw": -x})
            for p, x in zip(photos, u)]
    lines = describe(model, told)
    said = [line for line in lines if line.startswith("you prefer")]
    assert said == ["you prefer brighter photos (correlation +1.00)"], lines  # said once, in words
    assert not any(re.search(r"\b[a-z]+\.[a-z_0-9]+\b", line) for line in lines), lines
