"""Thumbnails and loupe previews, made once per photo content and size and cached on disk by content hash (a
moved or renamed photo keeps its previews). They come from the loader, so a RAW's come from its embedded preview."""

from __future__ import annotations

import os
from pathlib import Path

SIZES = {"thumb": 400, "loupe": 1600}


def preview(cache: Path, photo, content_hash: str, size: str) -> Path:
    """The cached JPEG of `photo` at `size` ('thumb' or 'loupe'), made now if missing."""
    from PIL import Image

    from keepers.core.io.loader import load

    long_side = SIZES[size]
    out = cache / content_hash[:2] / f"{content_hash}-{long_side}.jpg"
    if out.exists():
        return out
    frame = load(photo, analysis_size=long_side)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    Image.fromarray(frame.rgb).save(tmp, "JPEG", quality=85)
    os.replace(tmp, out)  # two requests for one preview: either file is whole
    return out
