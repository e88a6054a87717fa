"""Video at one frame per second: a clip assembled from real photos with PyAV, and a real clip from ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")

from keepers.core.settings import Settings  # noqa: E402
from keepers.sidecar import auth, video  # noqa: E402
from keepers.sidecar.app import Daemon  # noqa: E402
from keepers.sidecar.client import Client  # noqa: E402
from keepers.sidecar.config import DaemonSettings  # noqa: E402
from keepers.sidecar.server import Server  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")


def still(name: str, size=(320, 240)) -> np.ndarray:
    from PIL import Image
    from skimage import data

    img = getattr(data, name)()
    img = img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)
    return np.asarray(Image.fromarray(img).resize(size))


def make_clip(path: Path, seconds: int = 5, fps: int = 10, codec: str = "libx264") -> list[np.ndarray]:
    """`seconds` seconds at `fps`: second k shows photo k, panning a pixel per frame. Returns the stills."""
    stills = [still(PHOTOS[k % len(PHOTOS)]) for k in range(seconds)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(seconds * fps):
            frame = np.roll(stills[i // fps], i % fps, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return stills


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("video")
    lib = tmp / "library"
    lib.mkdir()
    settings = Settings(catalog=tmp / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    _, _, token = auth.create_app(daemon.store, "clips", [str(lib)])
    server = Server(daemon, port=0).start()
    yield lib, daemon, Client(server.url, token)
    server.stop()


@pytest.mark.parametrize("name,codec", [("clip.mp4", "libx264"), ("clip.mov", "mpeg4"), ("clip.mkv", "libx264")])
def test_sampling_takes_the_first_frame_of_each_second(env, name, codec):
    lib, _, _ = env
    stills = make_clip(lib / name, codec=codec)
    got = list(video.sample(str(lib / name)))
    assert [s for s, _, _ in got] == [0, 1, 2, 3, 4]
    for k, (_, rgb, size) in enumerate(got):
        assert size == (320, 240) and rgb.shape == (240, 320, 3)
        errors = [np.abs(rgb.astype(int) - s.astype(int)).mean() for s in stills]
        assert int(np.argmin(errors)) == k, errors  # the frame shown at second k is photo k


def test_a_five_second_clip_gives_five_prediction_lists_and_a_summary(env):
    lib, daemon, _ = env
    make_clip(lib / "five.mp4")
    judged = video.judge(daemon.engine, str(lib / "five.mp4"), daemon.engine.analyzers)
    names = [a.name for a in daemon.engine.analyzers]
    assert [s["t"] for s in judged["seconds"]] == [0, 1, 2, 3, 4] and judged["duration"] == 5.0
    for s in judged["seconds"]:
        assert list(s["models"]) == names and 1 <= s["verdict"]["score"] <= 10
    scores = [s["verdict"]["score"] for s in judged["seconds"]]
    summary = judged["summary"]
    assert summary["seconds"] == 5 and summary["min_score"] == min(scores) and summary["max_score"] == max(scores)
    assert summary["score"] == pytest.approx(np.mean(scores), abs=0.01)


def test_the_clip_summary_is_written_to_the_videos_sidecar(env):
    from keepers.core.io.xmp import read_sidecar

    lib, daemon, _ = env
    make_clip(lib / "side.mp4", seconds=3)
    judged = video.judge(daemon.engine, str(lib / "side.mp4"), daemon.engine.analyzers)
    sidecars, err = video.write_sidecar(daemon.engine, str(lib / "side.mp4"), judged)
    assert err is None and sidecars == [str(lib / "side.mp4.xmp")]
    side = read_sidecar(sidecars[0])
    assert side["score"] == pytest.approx(judged["verdict"].score, abs=0.01)
    assert side["judged_by"] == "video" and side["stars"] == judged["verdict"].stars
    import subprocess

    from keepers.core.io.exiftool import CONFIG

    timeline = subprocess.run(["exiftool", "-config", str(CONFIG), "-s3", "-sep", "|", "-XMP-keepers:Timeline",
                               sidecars[0]], capture_output=True, text=True).stdout.strip().split("|")
    assert len(timeline) == 3 and timeline[0].startswith("0s="), timeline  # one score per second of video


def test_the_api_predicts_a_video_second_by_second_and_counts_seconds_times_models(env):
    lib, daemon, c = env
    make_clip(lib / "api.mkv", seconds=4)
    r = c.post("/v1/predict", {"paths": [str(lib / "api.mkv")]})
    assert r.status == 200, r
    [res] = r.json()["results"]
    assert res["error"] is None and [s["t"] for s in res["video"]["seconds"]] == [0, 1, 2, 3]
    assert r.json()["operations"] == 4 * len(daemon.engine.analyzers)
    up = c.upload("/v1/predict", [("upload.mkv", (lib / "api.mkv").read_bytes())])
    assert len(up.json()["results"][0]["video"]["seconds"]) == 4


@pytest.mark.parametrize("name", ["camcorder.mts", "camcorder.m2ts"])
def test_an_avchd_clip_as_a_camcorder_names_it_is_judged_as_the_video_a_cull_says_the_daemon_judges(env, name):
    # `keepers cull` skips .mts/.m2ts as videos "the daemon judges"; the daemon took them for photos of an unknown
    # format, and a watched folder passed them over without a word
    lib, daemon, c = env
    make_clip(lib / name, seconds=2)
    [res] = c.post("/v1/predict", {"paths": [str(lib / name)]}).json()["results"]
    assert res["error"] is None and [s["t"] for s in res["video"]["seconds"]] == [0, 1], res


def test_a_broken_video_fails_its_input_only(env):
    lib, _, c = env
    make_clip(lib / "whole.mp4", seconds=2)
    (lib / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    r = c.post("/v1/predict", {"paths": [str(lib / "broken.mp4"), str(lib / "whole.mp4")]})
    broken, whole = r.json()["results"]
    assert broken["error_code"] == "read_error" and broken["video"] is None
    assert whole["error"] is None and len(whole["video"]["seconds"]) == 2


def test_a_real_clip_gives_one_prediction_list_per_second(env, shared_data):
    _, daemon, _ = env
    clip = shared_data / "videos" / "imageio" / "cockatoo.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    with av.open(str(clip)) as c:
        duration = float(c.duration / av.time_base)
    judged = video.judge(daemon.engine, str(clip), daemon.engine.analyzers)
    assert len(judged["seconds"]) == int(np.ceil(duration - 1e-3)) == 14
    assert [s["t"] for s in judged["seconds"]] == list(range(14))
    if any(a.name == "embedding" for a in daemon.engine.analyzers):
        assert "cockatoo" in judged["summary"]["labels"][0][0]  # what the clip shows, over all its seconds


def test_an_empty_or_cut_short_clip_says_so_without_ffmpegs_error_number_and_its_own_path_again(env, shared_data):
    lib, _, c = env
    clip = shared_data / "videos" / "imageio" / "cockatoo.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    (lib / "empty.mp4").write_bytes(b"")
    (lib / "cut.mp4").write_bytes(clip.read_bytes()[:60000])  # a recording that stopped before its index
    r = c.post("/v1/predict", {"paths": [str(lib / "empty.mp4"), str(lib / "cut.mp4")]})
    empty, cut = r.json()["results"]
    assert empty["error_code"] == "read_error" and empty["error"] == "file is empty (0 bytes)"  # as an empty photo's
    assert cut["error_code"] == "read_error" and "damaged, cut short, or not a video" in cut["error"]
    for res in (empty, cut):
        assert "Errno" not in res["error"] and str(lib) not in res["error"], res["error"]


def test_a_clip_shorter_than_its_sampled_seconds_gives_its_own_length_as_duration(env, shared_data):
    lib, _, c = env
    with av.open(str(lib / "blink.mp4"), "w") as out:  # 4 frames at 10 fps: a 0.4 s clip
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(4):
            for packet in stream.encode(av.VideoFrame.from_ndarray(still("coffee"), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    paths = [str(lib / "blink.mp4")]
    real = shared_data / "videos" / "imageio" / "realshort.mp4"  # 36 frames at 29.97 fps: 1.2 s
    if real.is_file():
        (lib / "realshort.mp4").write_bytes(real.read_bytes())
        paths.append(str(lib / "realshort.mp4"))
    got = c.post("/v1/predict", {"paths": paths}).json()["results"]
    assert got[0]["video"]["duration"] == pytest.approx(0.4, abs=0.01)  # it said 1.0
    assert [s["t"] for s in got[0]["video"]["seconds"]] == [0]
    if len(got) > 1:
        assert got[1]["video"]["duration"] == pytest.approx(1.2, abs=0.01)  # it said 2.0
        assert [s["t"] for s in got[1]["video"]["seconds"]] == [0, 1]


def test_show_on_a_clip_the_daemon_judged_points_at_its_sidecar_and_verdict(env, tmp_path):
    from helpers import keepers

    lib, _, c = env
    make_clip(lib / "judged.mp4", seconds=2)
    [res] = c.post("/v1/predict", {"paths": [str(lib / "judged.mp4")], "write": True}).json()["results"]
    assert res["sidecars"] == [str(lib / "judged.mp4.xmp")] and res["error"] is None
    proc = keepers("show", lib / "judged.mp4", tmp=tmp_path)
    assert proc.returncode == 2 and "is a video" in proc.stderr
    assert f"its judgement is in judged.mp4.xmp: score {res['score']:.1f}, {res['verdict']}" in proc.stderr, proc.stderr


def test_a_clip_reason_gives_the_points_it_took_over_its_seconds_not_those_of_its_first_second(env, shared_data):
    import re

    _, daemon, _ = env
    clip = shared_data / "videos" / "intel_asl_gestures" / "walk.mkv"  # 3 seconds, appeal +0.4, +0.1, +0.2
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    judged = video.judge(daemon.engine, str(clip), daemon.engine.analyzers)
    said = 0
    for r in judged["verdict"].reasons:
        points = re.search(r": ([+-]\d+\.\d) \(in \d+ of \d+ seconds?\)$", r.message)
        if points:
            said += 1
            assert float(points.group(1)) == pytest.approx(-r.cost, abs=0.051), (r.message, r.cost)
    assert said, [r.message for r in judged["verdict"].reasons]  # a clip of people: moment and appeal give points
