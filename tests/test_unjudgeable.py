"""Photos too small to judge get no score and say why; the rest of the batch is judged as usual.

A 1x1 PNG, an 8x8 white JPEG and a RAW whose only preview is 8x8 px once scored 10/10, five stars, confidence
100 %: no analyzer had scored them, and no flaw found read as perfect."""

from __future__ import annotations

import shutil
import subprocess

from PIL import Image

from helpers import keepers, records


def _message(error) -> str:
    return error["message"] if isinstance(error, dict) else (error or "")


def test_tiny_images_and_a_raw_with_a_tiny_preview_get_no_score_and_a_clear_error(tmp_path, shared_data):
    photos = tmp_path / "card"
    photos.mkdir()
    Image.new("RGB", (1, 1), "white").save(photos / "one.png")
    Image.new("RGB", (8, 8), "white").save(photos / "eight.jpg")
    raw = photos / "tiny_preview.nef"
    shutil.copy(shared_data / "camera" / "photos" / "Nikon_uncompressed.nef", raw)
    raw.chmod(0o644)
    # the camera's previews replaced by the 8x8 JPEG: all that is left to judge the RAW by
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-JpgFromRaw<={photos / 'eight.jpg'}",
                    f"-PreviewImage<={photos / 'eight.jpg'}", f"-OtherImage<={photos / 'eight.jpg'}", str(raw)],
                   check=True)
    shutil.copy(shared_data / "camera" / "photos" / "rommel.jpg", photos / "rommel.jpg")

    proc = keepers("cull", "--json", photos, tmp=tmp_path)
    out = records(proc)
    assert proc.returncode == 1, proc.stderr  # the run finished; some files could not be judged
    said = {name: _message(r["error"]) for name, r in out.items()}
    for name in ("one.png", "eight.jpg", "tiny_preview.nef"):
        r = out[name]
        assert r["score"] is None and r["stars"] is None and r["verdict"] is None, r
        assert "too small to judge" in said[name].lower(), r
    assert "embedded preview is only 8x8 px" in said["tiny_preview.nef"]
    assert "1x1 px" in said["one.png"]
    assert out["rommel.jpg"]["score"] is not None and out["rommel.jpg"]["error"] is None  # the batch went on
    # nothing was written for the photos that were not judged: no rating to mislead a DAM
    assert not list(photos.glob("one.png*.xmp")) and not list(photos.glob("tiny_preview*.xmp"))


def test_a_blank_frame_is_a_reject_that_says_it_is_blank(tmp_path):
    """A lens-cap frame or a flat grey preview shows nothing to keep: rejected for that reason alone, not for a
    list of flaws measured on nothing (it read as 'out of focus' and 'underexposed: 10.3 stops')."""
    card = tmp_path / "card"
    card.mkdir()
    Image.new("RGB", (3000, 2000), "black").save(card / "lens_cap.jpg")
    Image.new("RGB", (2000, 1500), (128, 128, 128)).save(card / "grey.jpg")
    proc = keepers("cull", "--json", "--dry-run", card, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for r in records(proc).values():
        assert r["score"] == 1.0 and r["stars"] == -1 and [x["code"] for x in r["reasons"]] == ["blank"], r
