"""Decode one photo for the analyzers: a fast reduced decode, EXIF orientation applied, capture facts read.

JPEGs are DCT-scaled by libjpeg (`Image.draft`, ~2.7x faster than a full decode: ../shared/research/
performance.md); a RAW is judged from its largest embedded preview, or from the JPEG/HEIF the camera wrote beside
it. Every failure is a ReadError whose reason a photographer understands.

Read top-down: `load` (which file of a photo is decoded), `_frame` (the analysis image, and the decodes a crop
asks for later), `_load_raw` (a RAW's previews tried in turn). Beside it: `loader_open.py` (the file checked and
opened as a photo, or refused: not a photo format, damaged, over the pixel limit; HEIF registered),
`loader_pixels.py` (the pixels decoded to 8-bit RGB, shrunk, turned upright; a JPEG's top rows alone),
`loader_meta.py` (capture facts and the photo's own rating from what Pillow parsed) and `loader_raw.py` (a RAW's
facts and previews, through exiftool).
"""

from __future__ import annotations

import dataclasses
import warnings

import cv2
import numpy as np

from keepers.core.io.discover import COMPANION_KINDS, kind_of
from keepers.core.io.loader_meta import meta_from_pillow
from keepers.core.io.loader_open import _check_file, _open, _register_heif
from keepers.core.io.loader_pixels import ORIENT, _decode, _jpeg_part, _oriented, _shrink
from keepers.core.io.loader_raw import _exiftool, _fs, raw_info
from keepers.core.errors import ReadError
from keepers.core.types import Decoded, Frame, Meta, Photo

# what callers import from here (tests, core/workers.py, tools/), from the modules that now hold it
from keepers.core.io.loader_meta import embedded_rating, iso_time  # noqa: F401
from keepers.core.io.loader_open import FORMATS, SUPPORTED  # noqa: F401
from keepers.core.io.loader_pixels import to_rgb  # noqa: F401
from keepers.core.io.loader_raw import PREVIEW_TAGS, RAW_TAGS  # noqa: F401


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
