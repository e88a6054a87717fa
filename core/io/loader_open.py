"""A photo's file checked and opened (its header only), or refused with a reason a photographer reads.

Refused: what is not a regular, readable, non-empty file; what no photo decoder recognises (Pillow is offered photo
formats only), told apart from a photo too damaged to parse; and what holds more pixels than the limit (a
decompression bomb), before any of it is decoded. HEIF is registered with Pillow here, once per process.
"""

from __future__ import annotations

import io
import os
import stat
import warnings

from PIL import Image, ImageFile, UnidentifiedImageError

from keepers.core.errors import ReadError

# a truncated file must fail loudly, not decode with a grey bottom half
ImageFile.LOAD_TRUNCATED_IMAGES = False
# the decoders Pillow may pick: photo formats only (its EPS plugin, for one, would run Ghostscript on a file)
FORMATS = ["JPEG", "PNG", "TIFF", "WEBP", "HEIF"]  # camera MPO files open through "JPEG"
SUPPORTED = "Keepers reads JPEG, PNG, TIFF, WebP, HEIC/HEIF and camera RAW files"
_heif_registered = False


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
