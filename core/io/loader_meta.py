"""Capture facts (time, camera, lens, exposure, orientation, size) and the photo's own star rating, from the EXIF
and XMP that Pillow parsed while opening it: no subprocess. Its value cleaners (`_text`, `_num`, `iso_time`) read
exiftool's answers for a RAW too (loader_raw.py).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from PIL import Image

from keepers.core.types import Meta

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
