"""Thumbnails, loupe previews and 100 % focus crops, made once per photo content and size and cached on disk by
content hash (a moved or renamed photo keeps its previews). They come from the loader, so a RAW's come from its
embedded preview; a thumbnail is cut from the photo's loupe preview when that is cached already (a 1600 px JPEG
decodes in a few ms where a 24 MP one takes 50-100).

Making them is queued by priority on as many threads as the machine has cores (at most 4): loupe previews and
crops before thumbnails, and at one priority the newest asked first: the photo the photographer has just moved
to before the ones the page fetches ahead, the screen of thumbnails looked at before the one scrolled past. The
server's request threads only wait."""

from __future__ import annotations

import heapq
import itertools
import os
import threading
from concurrent.futures import Future
from pathlib import Path

SIZES = {"thumb": 400, "loupe": 1600}
PRIORITY = {"loupe": 0, "crop": 0, "thumb": 1}


def cached(cache: Path, content_hash: str, size: str) -> Path:
    return cache / content_hash[:2] / f"{content_hash}-{SIZES.get(size, size)}.jpg"


def _save(out: Path, rgb) -> Path:
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    Image.fromarray(rgb).save(tmp, "JPEG", quality=85)
    os.replace(tmp, out)  # two requests for one preview: either file is whole
    return out


def _long_side(size: str, full: int | None) -> int:
    """The long side to make: for the loupe, 1200-1600 px, the most libjpeg gets at the coarsest DCT scale (1/2,
    1/4, 1/8) still 1200 px or more: a 7 MP JPEG decoded at 1/2 instead of whole took 80 instead of 250-320 ms."""
    if size != "loupe" or not full:
        return SIZES[size]
    scale = max((s for s in (1, 2, 4, 8) if full / s >= 1200), default=1)
    return min(SIZES["loupe"], -(-full // scale))


def preview(cache: Path, photo, content_hash: str, size: str, full: int | None = None) -> Path:
    """The cached JPEG of `photo` at `size` ('thumb' or 'loupe'), made now if missing; `full`: the photo's long
    side, where known."""
    from keepers.core.io.loader import load

    out = cached(cache, content_hash, size)
    if out.exists():
        return out
    big = cached(cache, content_hash, "loupe")
    if size == "thumb" and big.exists():
        import numpy as np
        from PIL import Image

        with Image.open(big) as im:
            im.draft("RGB", (SIZES["thumb"], SIZES["thumb"]))  # libjpeg's 1/2-1/8 scale
            im.thumbnail((SIZES["thumb"], SIZES["thumb"]))
            return _save(out, np.asarray(im.convert("RGB")))
    frame = load(photo, analysis_size=_long_side(size, full))
    return _save(out, frame.rgb)


def focus_crop(cache: Path, photo, content_hash: str, box: list[float], side: int = 800) -> Path:
    """A 100 % crop (at most side x side pixels of the photo as decoded at full size: a RAW's largest embedded
    preview) centred on `box`, the region where focus was judged, as fractions (x0, y0, x1, y1) of the frame."""
    from keepers.core.io.loader import load

    key = "crop-" + "-".join(f"{v:.3f}" for v in box)
    out = cache / content_hash[:2] / f"{content_hash}-{key}.jpg"
    if out.exists():
        return out
    rgb = load(photo, analysis_size=1 << 30).rgb
    h, w = rgb.shape[:2]
    cx, cy = (box[0] + box[2]) / 2 * w, (box[1] + box[3]) / 2 * h
    cw, ch = min(side, w), min(side, h)
    x0 = int(min(max(cx - cw / 2, 0), w - cw))
    y0 = int(min(max(cy - ch / 2, 0), h - ch))
    return _save(out, rgb[y0:y0 + ch, x0:x0 + cw])


class Closed(RuntimeError):
    """The review has ended (its server stopped, or another review replaced it): nothing more is made."""


class Queue:
    """Preview jobs by priority (lower first; at one priority the newest first) on `workers` threads. A job asked
    again while queued moves up (to the new priority, or to the newest at its own) and shares the first one's
    result."""

    def __init__(self, workers: int | None = None):
        self._heap: list = []
        self._jobs: dict = {}  # key -> [priority, future, fn]
        self._cv = threading.Condition()
        self._count = itertools.count()
        self._closed = False
        n = workers or max(1, min(4, os.cpu_count() or 1))
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"keepers-preview-{i}")
                         for i in range(n)]
        for t in self._threads:
            t.start()

    def submit(self, key, priority: int, fn) -> Future:
        with self._cv:
            if self._closed:  # no thread is left to make it
                ended: Future = Future()
                ended.set_exception(Closed("the review has ended"))
                return ended
            job = self._jobs.get(key)
            if job is not None:
                if priority <= job[0]:
                    job[0] = priority
                    heapq.heappush(self._heap, (priority, -next(self._count), key))
                return job[1]
            fut: Future = Future()
            self._jobs[key] = [priority, fut, fn]
            heapq.heappush(self._heap, (priority, -next(self._count), key))
            self._cv.notify()
            return fut

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                priority, _, key = heapq.heappop(self._heap)
                job = self._jobs.get(key)
                if job is None or job[0] != priority:
                    continue  # done already, or queued again higher up
                del self._jobs[key]
            fut, fn = job[1], job[2]
            try:
                fut.set_result(fn())
            except BaseException as e:  # the request waiting on it answers with the error
                fut.set_exception(e)

    def close(self, timeout: float = 10) -> None:
        """Stop: the jobs still queued fail at once (a request waiting on one answers instead of waiting for ever,
        which also held a stopping server's request threads), those being made finish, and the threads end."""
        with self._cv:
            self._closed = True
            queued, self._jobs, self._heap = self._jobs, {}, []
            self._cv.notify_all()
        for _, fut, _ in queued.values():
            fut.set_exception(Closed("the review has ended"))
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
