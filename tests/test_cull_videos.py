"""A cull over a folder with clips says what it did with them: `keepers cull video/` once reported 0 photos and
nothing else, and `keepers show cockatoo.mp4` called the clip corrupt."""

from __future__ import annotations

import shutil

from helpers import keepers, records


def test_a_cull_names_the_videos_it_skipped_and_why_and_judges_the_photos(tmp_path, shared_data):
    card = tmp_path / "card"
    card.mkdir()
    shutil.copy(shared_data / "videos" / "imageio" / "cockatoo.mp4", card)
    shutil.copy(shared_data / "camera" / "photos" / "rommel.jpg", card)
    proc = keepers("cull", "--json", "--dry-run", card, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(records(proc)) == ["rommel.jpg"]
    assert "skipped 1 video(s) (cockatoo.mp4)" in proc.stderr and "keepers watch" in proc.stderr
    table = keepers("cull", "--dry-run", card, tmp=tmp_path)
    assert "skipped 1 video(s)" in table.stderr


def test_show_on_a_clip_says_it_is_a_video_not_a_corrupt_file(tmp_path, shared_data):
    proc = keepers("show", shared_data / "videos" / "imageio" / "cockatoo.mp4", tmp=tmp_path)
    assert proc.returncode == 2
    assert "is a video" in proc.stderr and "corrupt" not in proc.stderr


def test_similar_on_a_clip_says_it_compares_photos_instead_of_asking_for_a_cull_that_skips_it(tmp_path, shared_data):
    card = tmp_path / "card"
    card.mkdir()
    shutil.copy(shared_data / "videos" / "imageio" / "realshort.mp4", card)
    shutil.copy(shared_data / "camera" / "photos" / "rommel.jpg", card)
    assert keepers("cull", card, tmp=tmp_path).returncode == 0
    proc = keepers("similar", card / "realshort.mp4", tmp=tmp_path)
    assert proc.returncode == 2
    assert "is a video" in proc.stderr and "run `keepers cull`" not in proc.stderr, proc.stderr


def test_a_cull_of_one_clip_says_it_skipped_a_video_and_lists_no_photo_formats(tmp_path, shared_data):
    clip = tmp_path / "realshort.mp4"
    shutil.copy(shared_data / "videos" / "imageio" / "realshort.mp4", clip)
    proc = keepers("cull", "--json", clip, tmp=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "skipped 1 video(s) (realshort.mp4)" in proc.stderr
    assert "no photos found" not in proc.stderr and "HEIC" not in proc.stderr, proc.stderr
