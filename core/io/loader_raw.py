"""A RAW read through exiftool: its capture facts and its embedded previews, largest first, or a ReadError that says
why it cannot be read. loader.py decodes the previews (no demosaic is needed to cull).
"""

from __future__ import annotations

import json
import os
import re

from keepers.core.io import exiftool
from keepers.core.io.discover import RAW_EXTS
from keepers.core.io.loader_meta import _num, _text, iso_time
from keepers.core.errors import ReadError, UserError
from keepers.core.types import Meta

# embedded images a RAW may carry, as exiftool names them; the largest that decodes is used
PREVIEW_TAGS = ["JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage"]
# IFD0's Orientation is the camera's: a NEF's SubIFD has its own, which exiftool would otherwise prefer
RAW_TAGS = ["Error", "Warning", "FileType", "IFD0:Orientation", "ImageSize", "DateTimeOriginal", "SubSecTimeOriginal",
            "OffsetTimeOriginal", "Make", "Model", "LensModel", "ExposureTime", "FNumber", "ISO",
            "ExposureCompensation", "FocalLength", *PREVIEW_TAGS]


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
