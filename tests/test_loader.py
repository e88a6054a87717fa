"""load(): every photo either decodes upright with its capture facts, or fails with a reason a photographer reads."""

from __future__ import annotations

import collections
import io
import os
import pickle
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from PIL.TiffImagePlugin import IFDRational

from keepers.core.io import exiftool, loader
from keepers.core.io.discover import discover, kind_of
from keepers.core.errors import ReadError
from keepers.core.io.loader import load
from keepers.core.types import Photo

NOBODY = 65534


def sample_rgb(name: str) -> np.ndarray:
    """A real photo bundled with scikit-image (as tests/conftest.py's sample_rgb, which importlib mode hides)."""
    from skimage import data

    img = getattr(data, name)()
    return img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)


def photo(path) -> Photo:
    return Photo(os.fsdecode(path), kind_of(os.fsdecode(path)))


def grainy(w: int, h: int, seed: int = 1) -> np.ndarray:
    """A real photo (scikit-image's coffee) upscaled to w x h with sensor-like grain, as a camera file would be."""
    big = cv2.resize(sample_rgb("coffee"), (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big += np.random.default_rng(seed).normal(0, 4.0, (h, w, 1))
    return np.clip(big, 0, 255).astype(np.uint8)


def read_error(p: Photo, **kw) -> str:
    with pytest.raises(ReadError) as e:
        load(p, **kw)
    assert e.value.path == p.path
    return e.value.message


def png_claiming(path: Path, w: int, h: int) -> Path:
    """A tiny valid PNG whose header claims w x h: what a decompression bomb looks like before it is decoded."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    struct.pack_into(">II", data, 16, w, h)  # IHDR data starts at byte 16
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def as_unprivileged(fn):
    """fn() as a user whom file permissions bind: root reads chmod-000 files, so run it in a child as nobody."""
    if os.geteuid() != 0:
        return fn()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, send the result back, never return into pytest
        try:
            os.close(r)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = pickle.dumps(("ok", fn()))
        except BaseException as e:  # noqa: BLE001 - everything must reach the parent
            out = pickle.dumps(("raised", repr(e)))
        os.write(w, out)
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    assert status == "ok", value
    return value


# --- files that cannot be read ------------------------------------------------------------------------------------


def test_an_empty_file_is_reported_as_empty(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert read_error(photo(tmp_path / "empty.jpg")) == "file is empty (0 bytes)"


@pytest.mark.parametrize("fmt, ext", [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_a_truncated_file_raises_instead_of_decoding_grey(tmp_path, fmt, ext):
    buf = io.BytesIO()
    Image.fromarray(grainy(1200, 800)).save(buf, fmt)
    path = tmp_path / f"half.{ext}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    for size in (256, 4096):  # the DCT-reduced decode and the full one
        assert "truncated or corrupt" in read_error(photo(path), analysis_size=size)


def test_random_bytes_named_jpg_are_not_a_recognised_format(tmp_path):
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(5000))
    assert read_error(photo(tmp_path / "noise.jpg")).startswith("not a recognised image format")


def test_a_file_that_is_not_a_photo_is_not_a_recognised_format(tmp_path):
    (tmp_path / "notes.txt").write_text("shot list: ceremony, rings, first dance")
    p = photo(tmp_path / "notes.txt")
    assert p.kind == "unknown"
    assert read_error(p).startswith("not a recognised image format")


def test_a_jpeg_header_without_image_data_is_corrupt_not_unknown(tmp_path):
    (tmp_path / "stub.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    assert read_error(photo(tmp_path / "stub.jpg")).startswith("file is truncated or corrupt")


def test_a_missing_file_and_a_folder_are_reported(tmp_path):
    assert read_error(Photo(str(tmp_path / "gone.jpg"), "jpeg")) == "file not found"
    (tmp_path / "folder.jpg").mkdir()
    assert read_error(Photo(str(tmp_path / "folder.jpg"), "jpeg")) == "is a folder, not a photo"


def test_a_huge_png_header_is_refused_before_decoding(tmp_path):
    bomb = png_claiming(tmp_path / "bomb.png", 30000, 30000)
    msg = read_error(photo(bomb))  # decoding would say "truncated": this message proves the header check came first
    assert msg == "image is 30000×30000 = 900 MP, over the 250 MP limit (possible decompression bomb)"


def test_a_real_oversized_png_is_refused_at_the_configured_limit(tmp_path):
    Image.new("L", (5000, 5000)).save(tmp_path / "big.png")  # 25 MP of zeros: a 25 KB file
    msg = read_error(photo(tmp_path / "big.png"), max_pixels=10_000_000)
    assert msg == "image is 5000×5000 = 25 MP, over the 10 MP limit (possible decompression bomb)"
    assert load(photo(tmp_path / "big.png"), analysis_size=256).meta.width == 5000  # under the default limit


def test_pillows_own_bomb_guard_also_ends_as_a_read_error(tmp_path):
    bomb = png_claiming(tmp_path / "bomb.png", 3000, 3000)  # 9 MP: past Pillow's guard (2 x 4 x the 1 MP limit)
    assert "over the 1.0 MP limit (possible decompression bomb)" in read_error(photo(bomb), max_pixels=1_000_000)


@pytest.fixture
def open_dir():
    """A folder every user can reach (pytest's tmp_path sits under a root-only folder)."""
    d = Path(tempfile.mkdtemp(prefix="keepers-perm-"))
    d.chmod(0o755)
    yield d
    for p in [d, *d.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(d)


def test_an_unreadable_file_or_folder_is_reported_as_permission_denied(open_dir, write_jpeg):
    Image.fromarray(sample_rgb("coffee")).save(open_dir / "locked.jpg")
    (open_dir / "locked.jpg").chmod(0)
    (open_dir / "closed").mkdir()
    Image.fromarray(sample_rgb("coffee")).save(open_dir / "closed" / "inside.jpg")
    (open_dir / "closed").chmod(0)
    load(photo(write_jpeg(sample_rgb("chelsea"))))  # warm up Pillow's plugins while we may still import them

    def messages():
        out = []
        for p in (open_dir / "locked.jpg", open_dir / "closed" / "inside.jpg"):
            try:
                load(photo(p))
                out.append("loaded")
            except ReadError as e:
                out.append(e.message)
        return out

    assert as_unprivileged(messages) == ["permission denied", "permission denied"]


# --- pixels -----------------------------------------------------------------------------------------------------

# EXIF orientation -> how to store an upright image so that a viewer turns it upright again (Pillow's own ops)
STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
         4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
         7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_loads_upright(tmp_path, orientation):
    upright = Image.fromarray(sample_rgb("coffee"))  # 600 x 400, landscape
    stored = upright.transpose(STORE[orientation]) if STORE[orientation] is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "o.jpg", quality=95, exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(tmp_path / "o.jpg")).size == upright.size  # the file is what we meant
    frame = load(photo(tmp_path / "o.jpg"))
    assert frame.rgb.shape == (400, 600, 3)
    assert (frame.meta.width, frame.meta.height, frame.meta.orientation) == (600, 400, orientation)
    assert np.abs(frame.rgb.astype(int) - np.asarray(upright, int)).mean() < 3  # JPEG noise, not a wrong turn
    full = frame.full_crop((0, 0, 600, 400))
    assert np.abs(full.astype(int) - np.asarray(upright, int)).mean() < 3


def test_real_orientation_samples_load_upright(shared_data):
    folder = shared_data / "camera" / "exif_samples" / "orientation"
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    for shape in ("landscape", "portrait"):
        ref = load(photo(folder / f"{shape}_1.jpg")).rgb.astype(int)
        for o in range(2, 9):
            frame = load(photo(folder / f"{shape}_{o}.jpg"))
            assert frame.meta.orientation == o and frame.rgb.shape == ref.shape
            # each sample carries its own digit, so ~14 remains; a wrong turn or mirror differs by > 50
            assert np.abs(frame.rgb.astype(int) - ref).mean() < 25, (shape, o)


def test_a_big_jpeg_is_decoded_at_reduced_scale_then_shrunk(tmp_path):
    Image.fromarray(grainy(4000, 3000)).save(tmp_path / "big.jpg", quality=90)
    with Image.open(tmp_path / "big.jpg") as im:
        reduced = loader._decode(im, str(tmp_path / "big.jpg"), 1024)
    assert 1024 <= max(reduced.shape[:2]) <= 2000  # libjpeg's 1/2 scale, not 4000 px
    frame = load(photo(tmp_path / "big.jpg"))
    assert frame.rgb.shape == (768, 1024, 3) and frame.rgb.dtype == np.uint8
    assert (frame.meta.width, frame.meta.height) == (4000, 3000)
    assert frame.scale == pytest.approx(1024 / 4000)
    crop = frame.full_crop((512, 384, 612, 484))  # 100 px of the analysis image = 391 px of the full one
    assert crop.shape == (391, 391, 3)
    full = np.asarray(Image.open(tmp_path / "big.jpg"))
    assert np.abs(crop.astype(int) - full[1500:1891, 2000:2391]).mean() < 2


def test_a_big_jpeg_reaches_libjpeg_in_one_read_with_the_same_pixels(tmp_path, monkeypatch):
    """Fed in Pillow's 64 KB blocks, libjpeg stops and resumes at each (1.5 ms of a 24 MP photo's decode): the
    loader hands it the whole file at once. The analysis image must be the very same pixels."""
    from PIL import JpegImagePlugin

    big = cv2.resize(sample_rgb("astronaut"), (3000, 3000), interpolation=cv2.INTER_CUBIC)  # a 1.2 MB JPEG
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=95)
    assert (tmp_path / "big.jpg").stat().st_size > 10 * 65536
    with Image.open(tmp_path / "big.jpg") as im:  # Pillow's own feeding, 64 KB at a time
        im.draft("RGB", (1024, 1024))  # libjpeg's 1/2 scale, as the loader asks for a 1024 px image
        im.load()
        blockwise = np.asarray(im)
    reads = []
    read = JpegImagePlugin.JpegImageFile.load_read
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load_read", lambda self, n: reads.append(n) or read(self, n))
    frame = load(photo(tmp_path / "big.jpg"))
    assert len(reads) <= 2  # the file, then the end of it (the decoder stops at its end marker before)
    assert np.array_equal(frame._decoded[2].pixels, blockwise)  # the decode the analysis image came from
    assert np.array_equal(frame.rgb, cv2.resize(blockwise, (1024, 1024), interpolation=cv2.INTER_AREA))


def test_a_small_photo_is_never_upscaled(write_jpeg):
    frame = load(photo(write_jpeg(sample_rgb("chelsea"))))  # 451 x 300
    assert frame.rgb.shape == (300, 451, 3) and frame.scale == 1.0


def test_sixteen_bit_grey_and_transparent_pngs_become_8_bit_rgb(tmp_path):
    grey = np.full((40, 60), 65535, np.uint16)
    grey[:, :30] = 257 * 64
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    rgb = load(photo(tmp_path / "grey16.png")).rgb
    assert rgb.shape == (40, 60, 3) and rgb[0, 0].tolist() == [64] * 3 and rgb[0, -1].tolist() == [255] * 3
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[:, :30] = (200, 10, 10, 255)  # left opaque red, right fully transparent
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    rgb = load(photo(tmp_path / "alpha.png")).rgb
    assert rgb[0, 0].tolist() == [200, 10, 10] and rgb[0, -1].tolist() == [255, 255, 255]


def test_cmyk_and_greyscale_jpegs_load_as_rgb(tmp_path):
    Image.fromarray(sample_rgb("coffee")).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(sample_rgb("coffee")).convert("L").save(tmp_path / "grey.jpg")
    for name in ("cmyk.jpg", "grey.jpg"):
        frame = load(photo(tmp_path / name), analysis_size=300)
        assert frame.rgb.shape == (200, 300, 3)
        assert frame.full_crop((0, 0, 300, 200)).shape == (400, 600, 3)


def test_odd_unicode_and_non_utf8_names_load(tmp_path):
    img = Image.fromarray(sample_rgb("coffee"))
    img.save(tmp_path / "été 🌅 .jpg")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg"), "wb") as f:
        img.save(f, "JPEG")
    photos, errors = discover([tmp_path])
    assert errors == [] and len(photos) == 2
    for p in photos:
        frame = load(p)
        assert frame.rgb.shape == (400, 600, 3) and frame.full_crop((0, 0, 10, 10)).shape == (10, 10, 3)


# --- capture facts ----------------------------------------------------------------------------------------------


def test_exif_capture_facts_are_read_from_the_file(write_jpeg):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R6"
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x9291], sub[0x9011] = "2021:05:12 12:21:21", "092", "+02:00"
    sub[0x829A], sub[0x829D], sub[0x8827] = IFDRational(1, 250), IFDRational(28, 10), 400
    sub[0x9204], sub[0x920A], sub[0xA434] = IFDRational(-2, 3), IFDRational(85, 1), "RF85mm F1.2 L USM"
    meta = load(photo(write_jpeg(sample_rgb("coffee"), exif=exif.tobytes()))).meta
    assert meta.as_dict() == {
        "capture_time": "2021-05-12T12:21:21.092+02:00", "make": "Canon", "model": "Canon EOS R6",
        "lens": "RF85mm F1.2 L USM", "exposure_time": 0.004, "f_number": 2.8, "iso": 400.0,
        "exposure_bias": pytest.approx(-2 / 3, abs=1e-5), "focal_length": 85.0, "orientation": 1,
        "width": 600, "height": 400, "rating": 0.0,  # 0: read, and the photo carries no star rating
        "xmp": False}  # nor an XMP packet


def test_capture_times_tolerate_blank_and_partial_dates():
    assert loader.iso_time("2020:12:29 14:24:45", 700, "-05:00") == "2020-12-29T14:24:45.700-05:00"
    assert loader.iso_time("2020:12:29 14:24:45\x00", None, "  ") == "2020-12-29T14:24:45"
    assert loader.iso_time("0000:00:00 00:00:00") is None
    assert loader.iso_time("    :  :     :  :  ") is None
    assert loader.iso_time(None) is None


def test_a_photo_without_exif_has_only_its_size(write_jpeg):
    meta = load(photo(write_jpeg(sample_rgb("chelsea")))).meta
    assert meta.as_dict() == {"orientation": 1, "width": 451, "height": 300, "rating": 0.0,  # 0.0: no rating in it
                              "xmp": False}


def test_real_camera_exif_matches_what_exiftool_reads(shared_data):
    path = shared_data / "camera" / "photos" / "rommel.jpg"
    meta = load(photo(path)).meta
    ref = exiftool.get().execute_json("-DateTimeOriginal", "-Make", "-Model", "-ExposureTime", "-FNumber", "-ISO",
                                      "-FocalLength", "-ImageWidth", "-ImageHeight", "-Orientation",
                                      str(path))[0]
    assert meta.make == ref["EXIF:Make"] and meta.model == ref["EXIF:Model"]
    assert meta.capture_time == loader.iso_time(ref["EXIF:DateTimeOriginal"])
    assert meta.exposure_time == pytest.approx(ref["EXIF:ExposureTime"], rel=1e-4)
    assert (meta.f_number, meta.iso, meta.focal_length) == pytest.approx(
        (ref["EXIF:FNumber"], ref["EXIF:ISO"], ref["EXIF:FocalLength"]))
    assert meta.orientation == ref["EXIF:Orientation"] == 6  # a portrait, stored on its side
    assert (meta.width, meta.height) == (ref["File:ImageHeight"], ref["File:ImageWidth"]) == (2304, 3072)
    assert load(photo(path)).rgb.shape == (1024, 768, 3)


# --- HEIF, WebP and RAW -----------------------------------------------------------------------------------------


def test_heic_and_webp_photos_load(shared_data):
    heic = load(photo(shared_data / "camera" / "photos" / "IMG_2682.heic"))
    assert heic.rgb.shape == (768, 1024, 3) and (heic.meta.width, heic.meta.height) == (4032, 3024)
    assert heic.meta.make == "Apple" and heic.meta.capture_time.startswith("2019-03-21T11:04:22")
    webp = load(photo(shared_data / "camera" / "photos" / "denali.webp"))
    assert webp.rgb.shape == (315, 600, 3) and webp.meta.model == "Canon EOS 7D"


def test_a_written_heic_round_trips(tmp_path):
    Image.fromarray(sample_rgb("coffee")).save(tmp_path / "c.heic", quality=90)
    frame = load(photo(tmp_path / "c.heic"))
    assert frame.rgb.shape == (400, 600, 3)
    assert np.abs(frame.rgb.astype(int) - sample_rgb("coffee")).mean() < 6


def test_a_raw_is_judged_from_its_largest_embedded_preview(shared_data):
    cr3 = shared_data / "camera" / "exiv2_test_data" / "Canon-R6-pruned.CR3"
    frame = load(photo(cr3))
    assert frame.source.endswith("[QuickTime:PreviewImage]")  # 389 KB preview, not the 16 KB thumbnail
    assert frame.rgb.shape == (683, 1024, 3) and frame.rgb.std() > 10  # a real picture, not a flat fill
    m = frame.meta
    assert (m.make, m.model, m.lens) == ("Canon", "Canon EOS R6", "RF70-200mm F2.8 L IS USM")
    assert (m.width, m.height, m.capture_time) == (3408, 2272, "2021-05-12T12:21:21.92+02:00")
    assert (m.exposure_time, m.f_number, m.iso, m.focal_length) == (0.25, 25.0, 100.0, 200.0)
    assert frame.full_crop((0, 0, 1024, 683)).shape[1] > 1024  # the preview at its own full size
    nef = load(photo(shared_data / "camera" / "photos" / "Nikon_uncompressed.nef"))
    assert nef.rgb.shape == (593, 869, 3) and nef.source.endswith("[MakerNotes:PreviewImage]")


def test_a_raw_without_a_usable_preview_fails_cleanly(shared_data):
    assert read_error(photo(shared_data / "camera" / "photos" / "Blackmagic.dng")) == "RAW file has no embedded preview"
    # the exiftool test files keep metadata but replace previews with a few bytes
    msg = read_error(photo(shared_data / "camera" / "exiftool_t_images" / "CanonRaw.cr3"))
    assert msg.startswith("RAW file has no embedded preview")


def test_random_bytes_named_like_a_raw_are_not_a_recognised_format(tmp_path):
    (tmp_path / "IMG_1.CR2").write_bytes(np.random.default_rng(1).bytes(5000))
    assert read_error(photo(tmp_path / "IMG_1.CR2")).startswith("not a recognised image format")
    (tmp_path / "IMG_2.NEF").write_text("not a raw")
    assert read_error(photo(tmp_path / "IMG_2.NEF")).startswith("not a recognised image format")


def test_a_raws_orientation_turns_its_preview_upright(shared_data, tmp_path):
    src = shared_data / "camera" / "photos" / "Nikon_uncompressed.nef"
    flat = load(photo(src))
    turned_path = tmp_path / "turned.nef"
    shutil.copy(src, turned_path)
    exiftool.get().execute("-IFD0:Orientation#=8", "-overwrite_original", str(turned_path))
    turned = load(photo(turned_path))
    assert (turned.meta.orientation, turned.meta.width, turned.meta.height) == (8, 593, 869)
    assert np.array_equal(turned.rgb, np.rot90(flat.rgb, 1))  # 90° anticlockwise, as a viewer shows it


def test_a_raw_with_a_non_utf8_name_loads(shared_data, tmp_path):
    dst = os.path.join(os.fsencode(tmp_path), b"caf\xe9.NEF")
    shutil.copy(shared_data / "camera" / "photos" / "Nikon_uncompressed.nef", dst)
    (p,), _ = discover([tmp_path])
    assert load(p).rgb.shape == (593, 869, 3)


def test_a_raw_jpeg_pair_is_decoded_from_the_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "FUJIFILM"
    exif.get_ifd(0x8769)[0x9003] = "2024:06:01 10:00:00"
    Image.fromarray(grainy(1600, 1200)).save(tmp_path / "DSCF1.JPG", exif=exif.tobytes())
    (tmp_path / "DSCF1.RAF").write_bytes(b"a RAW that need not be opened: the JPEG has the facts")
    (pair,), _ = discover([tmp_path])
    frame = load(pair)
    assert frame.source == str(tmp_path / "DSCF1.JPG") and frame.photo is pair
    assert frame.rgb.shape == (768, 1024, 3) and frame.meta.make == "FUJIFILM"


def test_a_raw_jpeg_pair_takes_missing_facts_from_the_raw(shared_data, tmp_path):
    shutil.copy(shared_data / "camera" / "exiv2_test_data" / "Canon-R6-pruned.CR3", tmp_path / "IMG_9.CR3")
    Image.fromarray(grainy(1500, 1000)).save(tmp_path / "IMG_9.JPG")  # exported without EXIF
    (pair,), _ = discover([tmp_path])
    frame = load(pair)
    assert frame.source.endswith("IMG_9.JPG") and (frame.meta.width, frame.meta.height) == (1500, 1000)
    assert (frame.meta.make, frame.meta.capture_time) == ("Canon", "2021-05-12T12:21:21.92+02:00")
    # a damaged JPEG beside a good RAW: the RAW's preview stands in
    (tmp_path / "IMG_9.JPG").write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    assert load(pair).source.endswith("[QuickTime:PreviewImage]")


def test_every_real_camera_file_loads_or_raises_a_read_error(shared_data):
    """Every file of the camera test sets, photo or not, named explicitly: a Frame or a ReadError, nothing else."""
    root = shared_data / "camera"
    tally: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    photos, _ = discover([root])
    in_pairs = {c for p in photos for c in p.companions}
    others = [Photo(str(f), "unknown") for f in sorted(root.rglob("*"))
              if f.is_file() and kind_of(str(f)) == "unknown"]
    for p in photos + others:
        try:
            frame = load(p, analysis_size=512)
            assert frame.rgb.ndim == 3 and frame.rgb.shape[2] == 3 and frame.rgb.dtype == np.uint8
            assert max(frame.rgb.shape[:2]) <= 512
            tally[p.kind]["loaded"] += 1
        except ReadError as e:
            assert e.message and "\n" not in e.message
            tally[p.kind]["read error"] += 1
    print("\nreal camera files:", {k: dict(v) for k, v in sorted(tally.items())}, f"({len(in_pairs)} paired)")
    assert tally["jpeg"]["loaded"] >= 200 and tally["tiff"]["loaded"] >= 9 and tally["heif"]["loaded"] >= 2
    assert tally["webp"]["loaded"] >= 1 and tally["png"]["loaded"] >= 1 and tally["raw"]["loaded"] >= 2
    assert tally["unknown"]["read error"] >= 50  # audio, fonts, BMP, GIF, PSD...: named explicitly, still refused


def test_a_crop_that_needs_only_twice_the_analysis_scale_comes_from_a_reduced_decode(write_jpeg):
    """The focus check asks for at most 2x the analysis scale; libjpeg's DCT scaling gives that for a fraction of
    a full decode, and the crop shows the same pixels as the full-resolution one, shrunk."""
    frame = load(photo(write_jpeg(grainy(4096, 2736))), 512)  # analysis scale 1/8
    box = (200, 100, 264, 164)
    reduced = frame.full_crop(box, max_gain=2.0)  # 1/4 scale: 2x the analysis scale
    assert set(frame.__dict__["_decoded"]) == {4}
    assert reduced.shape == (128, 128, 3)
    full = frame.full_crop(box)
    assert full.shape == (512, 512, 3) and set(frame.__dict__["_decoded"]) == {1, 4}
    shrunk = cv2.resize(full, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - reduced.astype(int)).mean() < 3.0  # same picture, not a shifted or BGR one
    coarser = frame.full_crop(box, max_gain=1.0)  # served by the 1/4 decode already made, not a new one
    assert np.array_equal(coarser, reduced) and set(frame.__dict__["_decoded"]) == {1, 4}


def test_the_decode_the_analysis_image_came_from_serves_crops_that_need_no_more(write_jpeg):
    """A 24 MP JPEG is decoded at 1/4 scale (1.46x the analysis scale) before it is shrunk: a crop that asks for
    no more than that comes from those pixels, without decoding the file a second time (as long as the first)."""
    frame = load(photo(write_jpeg(grainy(6000, 4000))))
    assert frame.rgb.shape == (683, 1024, 3) and set(frame.__dict__["_decoded"]) == {4}
    box = (500, 300, 600, 400)
    kept = frame.full_crop(box, max_gain=2.0, min_gain=1.3)
    assert kept.shape == (147, 147, 3) and set(frame.__dict__["_decoded"]) == {4}
    finer = frame.full_crop(box, max_gain=2.0)  # no minimum: the 1/2-scale decode it asks for is made
    assert finer.shape == (293, 293, 3) and set(frame.__dict__["_decoded"]) == {2, 4}
    shrunk = cv2.resize(finer, (147, 147), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - kept.astype(int)).mean() < 3.0  # the same pixels, upright, in RGB order
    # asked again with the same minimum, after that finer decode (as the focus check asks after the faces analyzer
    # looked at a small face): the same crop, so what a check measures does not depend on what ran before it
    assert np.array_equal(frame.full_crop(box, max_gain=2.0, min_gain=1.3), kept)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_crop_near_where_a_jpeg_starts_decodes_only_the_rows_down_to_it_with_the_same_pixels(write_jpeg,
                                                                                               orientation):
    """The second look at a small face decodes the JPEG's stored rows only down to the face (libjpeg decodes top to
    bottom, so a face in the top half costs half a decode). Whichever way the camera was held, the crop shows
    exactly the pixels of a whole decode, and a crop outside the rows decoded so far is decoded again, not cut
    short."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = write_jpeg(grainy(3000, 2000), exif=exif.tobytes())
    stored = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_REDUCED_COLOR_2 | cv2.IMREAD_IGNORE_ORIENTATION)
    whole = loader.ORIENT[orientation](stored[..., ::-1])
    partial = 0
    for fx, fy in ((0.05, 0.05), (0.9, 0.05), (0.05, 0.85), (0.5, 0.4), (0.9, 0.85)):  # corners, centre
        frame = load(photo(path), 512)  # 1/4 of the analysis size: a 1/2-scale decode gives 2x
        h, w = frame.rgb.shape[:2]
        box = (int(fx * w), int(fy * h), int(fx * w) + 30, int(fy * h) + 30)
        crop = frame.full_crop(box, max_gain=2.0)
        decoded = frame.__dict__["_decoded"][2]
        partial += decoded.pixels.shape[:2] != (decoded.height, decoded.width)
        s = whole.shape[1] / w
        l, t, r, b = (round(v * s) for v in box)
        assert np.array_equal(crop, whole[t:b, l:r])
        low = (box[0], h - 40, box[2], h - 10)  # past the rows decoded so far, for some orientations
        again = frame.full_crop(low, max_gain=2.0)
        l, t, r, b = (round(v * s) for v in low)
        assert np.array_equal(again, whole[t:b, l:r])
    assert partial >= 2  # two of the corners lie in the stored first rows, whichever the orientation


def test_shrinking_the_analysis_image_through_its_halvings_matches_a_direct_resize(write_jpeg):
    frame = load(photo(write_jpeg(grainy(3000, 2000))))
    for size in ((336, 224), (256, 171), (64, 43)):
        direct = cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA).astype(int)
        via = frame.shrunk(size)
        assert via.shape == (size[1], size[0], 3)
        # rounding, and the odd last row a halving leaves out (a drift of at most half a pixel at the far edge):
        # far closer than the same image shifted by one pixel
        shifted = np.abs(direct[:, 1:] - direct[:, :-1]).mean()
        assert np.abs(via.astype(int) - direct).mean() < 0.3 * shifted, size
    again = frame.shrunk((512, 341))  # an exact halving is kept, shared, and no analyzer may draw on it
    assert again is frame.shrunk((512, 341)) and not again.flags.writeable


def test_the_analysers_small_grey_copies_are_opencvs_area_resize_from_one_integral_image(write_jpeg):
    frame = load(photo(write_jpeg(grainy(3000, 2000))))
    for size in ((64, 43), (48, 36), (4, 4), (1024, 683)):  # factors that are not whole numbers, and none at all
        direct = cv2.resize(frame.grey, size, interpolation=cv2.INTER_AREA)
        assert np.abs(frame.grey_shrunk(size) - direct).max() < 1e-5, size
        direct8 = cv2.resize(frame.grey8, size, interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(frame.grey_shrunk(size, u8=True).astype(int) - direct8).max() <= 1, size  # rounding of ties
    assert frame.grey_shrunk((2000, 1500)).shape == (1500, 2000)  # enlarging is left to OpenCV
