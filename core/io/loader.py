"""Decode one photo for the analyzers: a fast reduced decode, EXIF orientation applied, capture facts read.

JPEGs are DCT-scaled by libjpeg (`Image.draft`, ~2.7x faster than a full decode: ../shared/research/
performance.md); a RAW is judged from its largest embedded preview, or from the JPEG/HEIF the camera wrote beside
it. Every failure is a ReadError whose reason a photographer understands.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import stat
import warnings
from datetime import datetime

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from keepers.core.io import exiftool
from keepers.core.io.discover import COMPANION_KINDS, RAW_EXTS, kind_of
from keepers.core.errors import ReadError, UserError
from keepers.core.types import Decoded, Frame, Meta, Photo

# a truncated file must fail loudly, not decode with a grey bottom half
ImageFile.LOAD_TRUNCATED_IMAGES = False
# the decoders Pillow may pick: photo formats only (its EPS plugin, for one, would run Ghostscript on a file)
FORMATS = ["JPEG", "PNG", "TIFF", "WEBP", "HEIF"]  # camera MPO files open through "JPEG"
SUPPORTED = "Keepers reads JPEG, PNG, TIFF, WebP, HEIC/HEIF and camera RAW files"
# EXIF orientation -> how the stored pixels (H, W, C) turn upright
ORIENT = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
          5: lambda a: a.transpose(1, 0, 2), 6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
          7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1], 8: lambda a: a.transpose(1, 0, 2)[::-1]}
# embedded images a RAW may carry, as exiftool names them; the largest that decodes is used
PREVIEW_TAGS = ["JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage"]
# IFD0's Orientation is the camera's: a NEF's SubIFD has its own, which exiftool would otherwise prefer
RAW_TAGS = ["Error", "Warning", "FileType", "IFD0:Orientation", "ImageSize", "DateTimeOriginal", "SubSecTimeOriginal",
            "OffsetTimeOriginal", "Make", "Model", "LensModel", "ExposureTime", "FNumber", "ISO",
            "ExposureCompensation", "FocalLength", *PREVIEW_TAGS]
_heif_registered = False


def load(photo: Photo, analysis_size: int = 1024, max_pixels: int = 250_000_000) -> Frame:
    """Decode `photo` for analysis (long side at most `analysis_size`); raises ReadError with a plain reason."""
    _register_heif()
    path = photo.path
    _check_file(path)
    if photo.kind != "raw":
        return _frame(path, path, photo, analysis_size, max_pixels, None, path)
    companion = next((c for c in photo.companions if kind_of(c) in COMPANION_KINDS), None)
    if companion is not None:
        try:
            _check_file(companion)
            frame = _frame(companion, companion, photo, analysis_size, max_pixels, None, companion)
        except ReadError:
            pass  # a damaged JPEG beside a good RAW: judge the RAW's preview instead
        else:
            if frame.meta.capture_time is None or frame.meta.make is None:  # e.g. a JPEG exported without EXIF
                try:
                    raw_meta = raw_info(path)[0]
                except ReadError:
                    return frame
                for k, v in raw_meta.__dict__.items():
                    if getattr(frame.meta, k) is None and k not in ("width", "height"):
                        setattr(frame.meta, k, v)
            return frame
    return _load_raw(photo, analysis_size, max_pixels)


# --- files and pixels -------------------------------------------------------------------------------------------


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        Image.init()  # registers every plugin, so Image.open(formats=FORMATS) finds them all
        _heif_registered = True


def _os_reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "file not found"
    if isinstance(e, IsADirectoryError):
        return "is a folder, not a photo"
    if e.errno is None:  # Pillow reports damaged data as OSError without errno
        return f"file is truncated or corrupt: {e}"
    return f"cannot read the file: {e.strerror or e}"


def _check_file(path: str) -> None:
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ReadError(path, "is a folder, not a photo")
        if not stat.S_ISREG(st.st_mode):  # opening a FIFO would wait forever
            raise ReadError(path, "not a regular file")
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise ReadError(path, _os_reason(e)) from None
    if st.st_size == 0:
        raise ReadError(path, "file is empty (0 bytes)")


def _mp(pixels: float) -> str:
    v = pixels / 1e6
    return f"{v:,.0f} MP" if v >= 10 else f"{v:.1f} MP"


def _looks_like_image(head: bytes) -> bool:
    """Starts like a JPEG, PNG, TIFF, WebP or HEIF: then a failed parse means damage, not an unknown format."""
    return (head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or head[4:8] == b"ftyp")


def _open(src: str | bytes, path: str, max_pixels: int) -> Image.Image:
    """Open (header only) and refuse what is not a photo, or is too big to decode safely."""
    # Pillow's own bomb guard stays as a second line, set above ours so that ours, which names the size, speaks
    Image.MAX_IMAGE_PIXELS = 4 * max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # ours is the check that counts
            im = Image.open(io.BytesIO(src) if isinstance(src, bytes) else src, formats=FORMATS)
    except Image.DecompressionBombError as e:
        raise ReadError(path, f"image is over the {_mp(max_pixels)} limit (possible decompression bomb): {e}") from None
    except UnidentifiedImageError:
        if isinstance(src, bytes):
            head = src[:16]
        else:
            with open(src, "rb") as f:
                head = f.read(16)
        if _looks_like_image(head):
            raise ReadError(path, "file is truncated or corrupt: its header cannot be parsed") from None
        raise ReadError(path, f"not a recognised image format ({SUPPORTED})") from None
    except OSError as e:
        raise ReadError(path, _os_reason(e)) from None
    except Exception as e:  # a damaged header can make a Pillow plugin raise nearly anything
        raise ReadError(path, f"file is truncated or corrupt: {e}") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ReadError(path, f"image is {w}×{h} = {_mp(w * h)}, over the {_mp(max_pixels)} limit "
                              "(possible decompression bomb)")
    return im


def _decode(im: Image.Image, path: str, target: int | None) -> np.ndarray:
    """Decode the pixels as 8-bit RGB; JPEGs at a DCT-reduced scale when `target` (long side wanted) is given."""
    try:
        if target and im.format in ("JPEG", "MPO") and max(im.size) > target:
            k = target / max(im.size)
            # a box of the image's own aspect, so libjpeg picks the smallest of 1/1..1/8 still >= target
            im.draft("RGB", (max(1, math.ceil(im.width * k)), max(1, math.ceil(im.height * k))))
        if im.format in ("JPEG", "MPO"):
            _one_block(im)
        im.load()
        return np.asarray(to_rgb(im))
    except MemoryError:
        raise ReadError(path, "not enough memory to decode the image") from None
    except OSError as e:
        raise ReadError(path, _os_reason(e)) from None
    except Exception as e:  # damaged data can make a decoder raise nearly anything
        raise ReadError(path, f"file is truncated or corrupt: {e}") from None


ONE_BLOCK_AT_MOST = 64 << 20  # bytes: a larger file is fed to the decoder in Pillow's blocks, as before


def _one_block(im: Image.Image) -> None:
    """Have Pillow hand libjpeg the whole file at once. Fed in Pillow's 64 KB blocks, libjpeg stops at the end of
    each, and the next block is joined to what it left: some 120 stops for a 7.6 MB photo, 1.5 ms of a 67 ms
    decode at 1/4 scale. The same decoder reads the same bytes: the pixels, and a truncated file's message (with
    its count of bytes not processed), are the same."""
    fp = im.fp
    try:
        here = fp.tell()
        size = fp.seek(0, os.SEEK_END)
        fp.seek(here)
    except (AttributeError, OSError, ValueError):
        return
    im.decodermaxblock = max(im.decodermaxblock, min(size, ONE_BLOCK_AT_MOST))


def to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB from any mode: 16-bit and float scaled down, transparency composited over white."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        a = np.asarray(im).astype(np.float32)
        top = a.max(initial=0.0)
        top = 1.0 if im.mode == "F" and top <= 1.0 else 65535.0 if top > 255 else 255.0
        return Image.fromarray(np.clip(a * (255.0 / top), 0, 255).astype(np.uint8)).convert("RGB")
    if "A" in im.getbands() or "transparency" in im.info:
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return im.convert("RGB")


def _shrink(a: np.ndarray, long_side: int) -> np.ndarray:
    h, w = a.shape[:2]
    if max(h, w) <= long_side:  # never upscale
        return a
    k = long_side / max(h, w)
    # area averaging: alias-free like Lanczos, and 4x faster than Pillow's Lanczos on the 1-2x step left after draft
    return cv2.resize(a, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)


def _oriented(a: np.ndarray, orientation: int) -> np.ndarray:
    return np.ascontiguousarray(ORIENT.get(orientation, ORIENT[1])(a))


def _frame(src: str | bytes, path: str, photo: Photo, analysis_size: int, max_pixels: int, meta: Meta | None,
           source: str) -> Frame:
    """Decode `src` (a file, or an embedded preview's bytes); `meta` is given for a RAW (its facts rule)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about odd EXIF; the photo still loads, and a batch stays quiet
        with _open(src, path, max_pixels) as im:
            # a copy of a RAW's facts: a preview that fails to decode must leave no size behind for the next one
            meta = meta_from_pillow(im) if meta is None else dataclasses.replace(meta)
            # pillow-heif has turned the pixels upright already
            orientation = 1 if "original_orientation" in im.info else meta.orientation
            if meta.width is None or meta.height is None:
                meta.width, meta.height = (im.height, im.width) if orientation in (5, 6, 7, 8) else im.size
            decoded = _decode(im, path, analysis_size)
            rgb = _oriented(_shrink(decoded, analysis_size), orientation)

    def decode_at(reduce: int = 1, box: tuple[int, int, int, int] | None = None) -> np.ndarray | Decoded:
        """The whole image; a JPEG at 1/`reduce` scale (1, 2, 4 or 8: libjpeg's DCT scaling, a fraction of a
        full decode's cost), other formats in full. Given `box` (analysis px), a JPEG's rows only down to the last
        one the box needs, when that spares a good part of the decode."""
        flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _open(src, path, max_pixels) as full:  # the header again: the file may have changed since
                if full.format in ("JPEG", "MPO") and full.mode in ("RGB", "L"):
                    part = None if box is None else _jpeg_part(full, path, reduce, box, rgb.shape[1], orientation)
                    if part is not None:
                        return part
                    # OpenCV decodes straight into numpy: 30 % faster than Pillow + its copy out (24 MP: 100 ms)
                    data = np.frombuffer(src, np.uint8) if isinstance(src, bytes) else np.fromfile(src, np.uint8)
                    bgr = cv2.imdecode(data, flag | cv2.IMREAD_IGNORE_ORIENTATION)
                    if bgr is not None and bgr.shape[1::-1] == tuple(-(-n // reduce) for n in full.size):
                        # a view in RGB order: Frame.full_crop copies out only the crop (converting all 24 MP
                        # cost 28 ms, for a crop of a few hundred pixels)
                        return ORIENT.get(orientation, ORIENT[1])(bgr[..., ::-1])
                return _oriented(_decode(full, path, None), orientation)  # and Pillow names the damage

    frame = Frame(photo=photo, rgb=rgb, meta=meta, scale=rgb.shape[1] / meta.width if meta.width else 1.0,
                  source=source, _full_loader=decode_at, _reduced_loader=decode_at)
    if decoded.shape[:2] != rgb.shape[:2] and meta.width:
        # the decode the analysis image was shrunk from (a JPEG's at 1/2-1/8 scale, another format's in full) has
        # more detail than the analysis image: kept, upright (a view), full_crop serves crops from it for free
        up = ORIENT.get(orientation, ORIENT[1])(decoded)
        frame._decoded[max(1, round(meta.width / up.shape[1]))] = Decoded(up)
    return frame


PARTIAL_AT_MOST = 0.8  # share of a JPEG's rows above which the whole is decoded (OpenCV's decode is faster)


def _jpeg_part(im: Image.Image, path: str, reduce: int, box: tuple[int, int, int, int], analysis_width: int,
               orientation: int) -> Decoded | None:
    """The part of a JPEG that holds `box` (analysis px of the upright photo), decoded at 1/`reduce` scale: the
    stored rows from the top down to the last one the box needs. libjpeg decodes top to bottom, so the cost falls
    with the rows (a face in the top third of a 24 MP photo: a third of the 1/2-scale decode, 60 ms). None where
    that spares too little."""
    sw, sh = -(-im.width // reduce), -(-im.height // reduce)
    turned = orientation in (5, 6, 7, 8)
    uw, uh = (sh, sw) if turned else (sw, sh)
    s = uw / analysis_width
    l, t = max(0, math.floor(box[0] * s) - 1), max(0, math.floor(box[1] * s) - 1)
    r, b = min(uw, math.ceil(box[2] * s) + 1), min(uh, math.ceil(box[3] * s) + 1)
    # which stored row each upright row (or column, for a turned photo) comes from
    row_of = ORIENT.get(orientation, ORIENT[1])(np.arange(sh).reshape(sh, 1, 1)).ravel()
    span = row_of[l:r] if turned else row_of[t:b]
    if not span.size:
        return None
    rows = int(span.max()) + 1
    if rows > PARTIAL_AT_MOST * sh:
        return None
    stored = _jpeg_rows(im, path, reduce, rows)
    if stored is None:
        return None
    first = int(np.flatnonzero(row_of < rows).min())  # where the decoded rows land in the upright photo
    return Decoded(ORIENT.get(orientation, ORIENT[1])(stored), first if turned else 0, 0 if turned else first, uw, uh)


def _jpeg_rows(im: Image.Image, path: str, reduce: int, rows: int) -> np.ndarray | None:
    """The top `rows` rows of a JPEG decoded at 1/`reduce` scale, as RGB; None if libjpeg offers no such scale.
    Pillow has no call for part of an image: this is its own load loop (ImageFile.load) feeding the same decoder,
    stopped once the rows are filled. Stopped early, the decoder reports its stream unfinished: expected here, and
    the file decoded whole once already, for the analysis image."""
    size = (-(-im.width // reduce), -(-im.height // reduce))
    im.draft(im.mode, (im.width // reduce, im.height // reduce))  # libjpeg's scale: the largest still this big
    if im.size != size or len(im.tile) != 1:
        return None
    codec, _, offset, args = im.tile[0]
    out = Image.new(im.mode, (size[0], rows))
    try:  # Pillow's own, not its public API: should a later Pillow change it, the whole image is decoded instead
        decoder = Image._getdecoder(im.mode, codec, args, im.decoderconfig)
    except (AttributeError, TypeError, ValueError):
        return None
    try:
        decoder.setimage(out.im, (0, 0, size[0], rows))
        im.fp.seek(offset)
        data = b""
        while True:
            chunk = im.fp.read(ImageFile.SAFEBLOCK)
            if not chunk:
                raise ReadError(path, "file is truncated")
            data += chunk
            used, _ = decoder.decode(data)
            if used < 0:
                break
            data = data[used:]
    finally:
        decoder.cleanup()
    return np.asarray(to_rgb(out))


# --- metadata ---------------------------------------------------------------------------------------------------


def _text(v) -> str | None:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if v is None or isinstance(v, (dict, list)):
        return None
    v = str(v).strip("\x00 \t\r\n")
    return v or None


def _num(v, zero_is_unknown: bool = True) -> float | None:
    if isinstance(v, (tuple, list)):
        v = v[0] if v else None
    try:
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(f) or (zero_is_unknown and f <= 0):
        return None
    return round(f, 6)


def iso_time(dt, subsec=None, offset=None) -> str | None:
    """'2021:05:12 12:21:21' + '92' + '+02:00' -> '2021-05-12T12:21:21.92+02:00'; None for a blank or bad date."""
    m = re.match(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)", _text(dt) or "")
    if not m:
        return None
    try:
        datetime(*map(int, m.groups()))
    except ValueError:  # cameras with an unset clock write 0000:00:00 00:00:00
        return None
    out = "{}-{}-{}T{}:{}:{}".format(*m.groups())
    sub, off = _text(subsec), _text(offset)
    if sub and sub.isdigit():
        out += "." + sub
    if off and re.fullmatch(r"[+-]\d\d:\d\d", off):
        out += off
    return out


def meta_from_pillow(im: Image.Image) -> Meta:
    """Capture facts from the EXIF Pillow parsed (no subprocess); width/height are after orientation."""
    try:
        ifd0 = im.getexif()
        sub = ifd0.get_ifd(0x8769)  # the Exif IFD: exposure facts live there, not in IFD0
    except Exception:  # broken EXIF must not cost the photo its pixels
        ifd0, sub = {}, {}
    orientation = int(_num(ifd0.get(0x0112)) or 1)
    if "original_orientation" in im.info:  # pillow-heif rotated the pixels and reset the tag
        orientation = int(im.info["original_orientation"] or 1)
    orientation = orientation if 1 <= orientation <= 8 else 1
    w, h = im.size
    if orientation in (5, 6, 7, 8) and "original_orientation" not in im.info:
        w, h = h, w
    return Meta(
        rating=embedded_rating(im, ifd0), xmp=bool(im.info.get("xmp")) if im.format in _XMP_IN_INFO else None,
        capture_time=iso_time(sub.get(0x9003), sub.get(0x9291), sub.get(0x9011))
        or iso_time(sub.get(0x9004), sub.get(0x9292), sub.get(0x9012)),  # DateTimeDigitized: scanners, some phones
        make=_text(ifd0.get(0x010F)), model=_text(ifd0.get(0x0110)), lens=_text(sub.get(0xA434)),
        exposure_time=_num(sub.get(0x829A)), f_number=_num(sub.get(0x829D)), iso=_num(sub.get(0x8827)),
        exposure_bias=_num(sub.get(0x9204), zero_is_unknown=False), focal_length=_num(sub.get(0x920A)),
        orientation=orientation, width=w, height=h)


_XMP_RATING = re.compile(rb"xmp:Rating(?:=[\"']|>)\s*(-?[0-9.]+)")
# formats whose XMP packet Pillow always puts in info["xmp"] (TIFF and HEIF keep it elsewhere: not read here)
_XMP_IN_INFO = {"JPEG", "MPO", "PNG", "WEBP"}


def embedded_rating(im: Image.Image, ifd0) -> float | None:
    """The photo's own non-zero star rating (XMP xmp:Rating, else EXIF IFD0 Rating), 0.0 when it has none, or None
    where Pillow does not see every place a rating could be."""
    if im.format not in _XMP_IN_INFO:
        return None
    xmp = im.info.get("xmp") or b""
    m = _XMP_RATING.search(xmp if isinstance(xmp, bytes) else str(xmp).encode())
    for v in (m.group(1) if m else None, ifd0.get(0x4746)):
        n = _num(v)
        if n:
            return n
    return 0.0


def _exiftool(path: str):
    try:
        et = exiftool.get()
    except UserError as e:  # no exiftool: this RAW cannot be read, the JPEGs of the batch still can
        raise ReadError(path, str(e)) from None
    if et.block_size < 1 << 16:  # previews are megabytes: 4 KiB reads cost ~40 % of an extraction
        et.block_size = 1 << 16
    return et


def _fs(path: str) -> bytes:
    b = os.fsencode(path)  # bytes: exiftool gets non-UTF-8 names exactly as on disk
    if b"\n" in b:
        raise ReadError(path, "the file name contains a line break, which exiftool cannot be given")
    return b


def raw_info(path: str) -> tuple[Meta, list[tuple[str, int]], str | None]:
    """A RAW's capture facts (via exiftool), its embedded previews as (exiftool tag, bytes) largest first, and
    exiftool's warning about the file if any."""
    et = _exiftool(path)
    out = et.execute(b"-j", *(f"-{t}".encode() for t in RAW_TAGS), _fs(path), raw_bytes=True)
    try:
        pairs = json.loads(out.decode("utf-8", "replace"), object_pairs_hook=lambda kv: kv)[0]
    except (ValueError, IndexError):
        err = et.last_stderr.decode("utf-8", "replace").strip() if isinstance(et.last_stderr, bytes) else ""
        raise ReadError(path, f"exiftool cannot read the file: {err or 'no output'}") from None
    v: dict = {}
    groups: dict = {}
    sizes: dict = {}
    for key, value in pairs:
        group, _, tag = key.rpartition(":")  # the group is family 0 ("EXIF"): Keepers' exiftool runs with -G
        if tag not in v or (group == "EXIF" and groups[tag] != "EXIF"):  # the first EXIF copy over makernotes
            v[tag], groups[tag] = value, group
        m = re.match(r"\(Binary data (\d+) bytes", str(value))
        if m and tag in PREVIEW_TAGS:
            sizes[key] = max(sizes.get(key, 0), int(m.group(1)))
    if "Error" in v:
        raise ReadError(path, f"not a recognised image format (exiftool: {v['Error']})")
    previews = sorted(sizes.items(), key=lambda p: -p[1])
    filetype = str(v.get("FileType") or "")
    if not previews and f".{filetype.lower()}" not in RAW_EXTS:  # a text file, or a JPEG, named like a RAW
        raise ReadError(path, f"not a recognised image format (exiftool sees {filetype or 'an unknown type'})")
    orientation = int(_num(v.get("Orientation")) or 1)
    orientation = orientation if 1 <= orientation <= 8 else 1
    size = str(v.get("ImageSize") or "").replace("x", " ").split()
    w, h = (int(float(size[0])), int(float(size[1]))) if len(size) == 2 else (None, None)
    if w and h and orientation in (5, 6, 7, 8):
        w, h = h, w
    meta = Meta(capture_time=iso_time(v.get("DateTimeOriginal"), v.get("SubSecTimeOriginal"),
                                      v.get("OffsetTimeOriginal")),
                make=_text(v.get("Make")), model=_text(v.get("Model")), lens=_text(v.get("LensModel")),
                exposure_time=_num(v.get("ExposureTime")), f_number=_num(v.get("FNumber")), iso=_num(v.get("ISO")),
                exposure_bias=_num(v.get("ExposureCompensation"), zero_is_unknown=False),
                focal_length=_num(v.get("FocalLength")), orientation=orientation, width=w or None, height=h or None)
    return meta, previews, re.sub(r"^\[minor\]\s*", "", _text(v.get("Warning")) or "", flags=re.I) or None


def _load_raw(photo: Photo, analysis_size: int, max_pixels: int) -> Frame:
    """Judge a RAW from the largest embedded preview that decodes (no demosaic is needed to cull)."""
    path = photo.path
    meta, previews, warning = raw_info(path)
    failures = []
    for key, _size in previews:
        data = _exiftool(path).execute(b"-b", f"-{key}".encode(), _fs(path), raw_bytes=True)
        if not data:
            continue
        try:
            # the preview is stored unrotated: the RAW's orientation applies to it
            return _frame(data, path, photo, analysis_size, max_pixels, meta, f"{path} [{key}]")
        except ReadError as e:
            failures.append(f"{key.rpartition(':')[2]}: {e.message.split(' (')[0]}")
    detail = "; ".join(failures) or (f"exiftool: {warning}" if warning else "")
    raise ReadError(path, "RAW file has no embedded preview" + (f" that decodes ({detail})" if failures else
                                                               f" ({detail})" if detail else ""))
