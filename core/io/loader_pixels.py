"""A photo's pixels: decoded as 8-bit RGB (a JPEG at libjpeg's DCT-reduced scale, handed the whole file at once),
shrunk by area averaging and turned upright by its EXIF orientation; and a JPEG's top rows alone, for a crop that
needs no more of it.
"""

from __future__ import annotations

import math
import os

import cv2
import numpy as np
from PIL import Image, ImageFile

from keepers.core.errors import ReadError
from keepers.core.io.loader_open import _os_reason
from keepers.core.types import Decoded

# EXIF orientation -> how the stored pixels (H, W, C) turn upright
ORIENT = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
          5: lambda a: a.transpose(1, 0, 2), 6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
          7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1], 8: lambda a: a.transpose(1, 0, 2)[::-1]}


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
