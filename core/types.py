"""The data that flows along discover -> load -> analyze -> group -> decide -> write back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Photo:
    """One frame as the photographer sees it: a file, or a RAW+JPEG pair of the same frame.

    `path` is the file that names the photo (the RAW of a pair); `companions` are the other files of the frame,
    which travel with it when sorted and get the same metadata written.
    """

    path: str
    kind: str  # "jpeg", "png", "tiff", "webp", "heif", "raw", "video"
    companions: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [self.path, *self.companions]


@dataclass
class Meta:
    """Capture facts read from EXIF; every field may be missing."""

    capture_time: str | None = None  # ISO 8601, with sub-seconds when the camera wrote them
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    exposure_time: float | None = None  # seconds
    f_number: float | None = None
    iso: float | None = None
    exposure_bias: float | None = None  # EV
    focal_length: float | None = None  # mm
    orientation: int = 1
    width: int | None = None  # of the full image, after orientation
    height: int | None = None
    # a star rating inside the file itself (XMP or EXIF), as the loader read it: 0 = read, none set; None = not
    # read (the writer then asks exiftool). It spares the writer one exiftool call per new sidecar.
    rating: float | None = None
    # whether the file carries an XMP packet, as the loader saw (None: not looked, for formats where Pillow does not
    # show it): False spares the writer the exiftool command that copies it into a new sidecar (keepers.core.io.xmp)
    xmp: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def area_resize(a: np.ndarray, size: tuple[int, int], integral: np.ndarray | None = None) -> np.ndarray:
    """A single-channel image `a` made smaller, to `size` (width, height), by area averaging: what
    cv2.resize(a, size, INTER_AREA) gives, to rounding, at a fraction of its cost. OpenCV's area resize by a factor
    that is not a whole number weighs every source pixel one by one (1.5-2.5 ms for a 1024 px image, however small
    the result); here each output pixel is a box sum read from the integral image (`integral`, cv2.integral of `a`,
    when the caller keeps one: 0.12 ms for uint8, 0.8 ms for float), bilinearly between its corners, which is exact
    for pixels that are constant over their area. uint8 comes back rounded, float as float32. Enlarging, in either
    direction, and colour (where the integral costs more than it saves at the sizes asked), are left to cv2.resize."""
    import cv2

    h, w = a.shape[:2]
    W, H = size
    if W > w or H > h or a.ndim != 2:
        return cv2.resize(a, size, interpolation=cv2.INTER_AREA)
    if integral is None:
        integral = cv2.integral(a, sdepth=cv2.CV_32S if a.dtype == np.uint8 else cv2.CV_64F)
    xs, ys = np.arange(W + 1) * (w / W), np.arange(H + 1) * (h / H)  # cell edges, in source pixels
    x0, y0 = np.minimum(xs.astype(int), w - 1), np.minimum(ys.astype(int), h - 1)
    fx, fy = xs - x0, (ys - y0)[:, None]
    top, bottom = (integral[np.ix_(y, x0)] * (1 - fx) + integral[np.ix_(y, x0 + 1)] * fx for y in (y0, y0 + 1))
    f = top * (1 - fy) + bottom * fy  # the sum above and left of each cell corner
    mean = (f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]) * (W * H / (w * h))
    return np.clip(np.rint(mean), 0, 255).astype(np.uint8) if a.dtype == np.uint8 else mean.astype(np.float32)


@dataclass
class Decoded:
    """Pixels decoded for crops: the whole upright photo at some reduction, or the part of it at (`left`, `top`)
    when only part was decoded (a JPEG's rows down to the ones a crop needs); `width` x `height` is the whole."""

    pixels: np.ndarray
    left: int = 0
    top: int = 0
    width: int = -1  # -1: the pixels are the whole photo
    height: int = -1

    def __post_init__(self):
        if self.width < 0:
            self.height, self.width = self.pixels.shape[:2]

    def crop(self, box: tuple[int, int, int, int], analysis_width: int) -> np.ndarray | None:
        """`box` (analysis px) cut from these pixels, or None where they do not hold all of it."""
        s = self.width / analysis_width
        l, t, r, b = (int(round(v * s)) for v in box)
        l, t, r, b = max(l, 0), max(t, 0), min(r, self.width), min(b, self.height)
        h, w = self.pixels.shape[:2]
        if l < self.left or t < self.top or r > self.left + w or b > self.top + h:
            return None
        return np.ascontiguousarray(self.pixels[t - self.top : b - self.top, l - self.left : r - self.left])


@dataclass
class Frame:
    """A decoded photo, ready for analyzers.

    `rgb` is the analysis image (uint8 HxWx3, EXIF orientation applied, long side about `Settings.analysis_size`).
    `scale` = analysis width / full width. `full_crop(box)` returns a full-resolution crop for judging focus; the
    box is (left, top, right, bottom) in analysis-image pixels. It decodes the full image on first use, so an
    analyzer should call it only where detail decides the verdict.
    """

    photo: Photo
    rgb: np.ndarray
    meta: Meta
    scale: float = 1.0
    source: str = ""  # which file or embedded preview the pixels came from
    _full_loader: Callable[[], np.ndarray] | None = None
    # decodes at 1/2, 1/4 or 1/8 scale (a JPEG's DCT scaling: a fraction of a full decode's cost), or None. Given
    # the box a crop needs (analysis px), it may decode part of the photo: then it returns a Decoded, else an array
    _reduced_loader: Callable[..., np.ndarray | Decoded] | None = None
    # reduction (1 = full) -> what was decoded at it: the loader's own decode where it was larger than `rgb`, then
    # full_crop's
    _decoded: dict[int, Decoded] = field(default_factory=dict)

    def shrunk(self, size: tuple[int, int]) -> np.ndarray:
        """The analysis image at `size` (width, height) by area averaging, as cv2.resize(rgb, size, INTER_AREA)
        gives it but cheaper, kept (read-only) for the next analyzer that asks for the same size. It comes from the
        smallest exact halving of the image still large enough (a halving takes OpenCV's fast path: 0.06 ms at
        1024 px, a tenth of a resize by an odd factor), and the resize after it reads a quarter of the pixels or
        fewer. Area averages compose, so the result differs from a direct resize by rounding (and an odd last row
        or column a halving leaves out)."""
        import cv2

        done = self.__dict__.setdefault("_shrunk", {})
        if size in done:
            return done[size]
        w, h = size
        levels = self.__dict__.setdefault("_halvings", [np.ascontiguousarray(self.rgb, dtype=np.uint8)])
        while levels[-1].shape[1] // 2 >= w and levels[-1].shape[0] // 2 >= h:
            top = levels[-1]
            th, tw = top.shape[0] // 2, top.shape[1] // 2
            levels.append(cv2.resize(top[: 2 * th, : 2 * tw], (tw, th), interpolation=cv2.INTER_AREA))
        k = max((i for i, lv in enumerate(levels) if lv.shape[1] >= w and lv.shape[0] >= h), default=0)
        src = levels[k]  # none large enough: enlarging, from the image itself
        # an integral image, as area_resize uses, costs more than this resize for colour at these sizes
        out = src if src.shape[1::-1] == (w, h) else cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
        if out is not self.rgb:
            out.flags.writeable = False  # shared by every analyzer that asks: none may draw on it
        done[size] = out
        return out

    def grey_shrunk(self, size: tuple[int, int], u8: bool = False) -> np.ndarray:
        """`grey` (or, with `u8`, `grey8`) at `size` (width, height), exactly as cv2.resize(..., INTER_AREA) gives
        it (area_resize), from an integral image made once per frame for every analyzer that asks."""
        import cv2

        key = "_integral8" if u8 else "_integral"
        src = self.grey8 if u8 else self.grey
        if key not in self.__dict__:
            self.__dict__[key] = cv2.integral(src, sdepth=cv2.CV_32S if u8 else cv2.CV_64F)
        return area_resize(src, size, self.__dict__[key])

    @property
    def grey8(self) -> np.ndarray:
        """Luma as uint8 (OpenCV's RGB to grey), computed once."""
        import cv2

        if "_grey8" not in self.__dict__:
            self.__dict__["_grey8"] = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)
        return self.__dict__["_grey8"]

    @property
    def grey(self) -> np.ndarray:
        """Luma as float32 in [0, 1] (Rec. 601 weights), computed once."""
        g = self.__dict__.get("_grey")
        if g is None:
            g = (self.rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0
            self.__dict__["_grey"] = g
        return g

    def full_crop(self, box: tuple[int, int, int, int], max_gain: float | None = None,
                  min_gain: float | None = None) -> np.ndarray:
        """Pixels of `box` (analysis px) at full resolution, or, given `max_gain` (the most resolution the caller
        uses, in multiples of the analysis scale), at the coarsest reduced decode that still gives that much.
        Given `min_gain` too, an image decoded already (such as the one the analysis image was shrunk from) serves
        when it gives at least that much: a second decode of a 24 MP JPEG costs as much as the first."""
        if self._full_loader is None:
            return self.rgb[box[1] : box[3], box[0] : box[2]]
        reduce = 1
        if max_gain is not None and self._reduced_loader is not None and 0 < self.scale < 1:
            reduce = next((r for r in (8, 4, 2) if 1.0 / (self.scale * r) >= max_gain), 1)
        finer = [r for r in self._decoded if r <= reduce]  # a finer decode serves a coarser ask
        if min_gain is not None and 0 < self.scale < 1:  # and a coarser one that gives enough, before any finer one:
            # the crop is then the same whatever another analyzer decoded before (the faces analyzer's 1/2 scale)
            finer += [r for r in self._decoded if r > reduce and 1.0 / (self.scale * r) >= min_gain]
        for r in sorted(finer, reverse=True):  # the coarsest first; a partial decode may not hold this box
            crop = self._decoded[r].crop(box, self.rgb.shape[1])
            if crop is not None:
                return crop
        got = self._full_loader() if reduce == 1 else self._reduced_loader(reduce, box)
        self._decoded[reduce] = got if isinstance(got, Decoded) else Decoded(got)
        return self._decoded[reduce].crop(box, self.rgb.shape[1])


@dataclass
class Reason:
    """Why a photo lost points, in words a photographer understands.

    `code` is a stable identifier users filter by (README lists them); `severity` is 0..1 (how bad the flaw is);
    `cost` is how many points of the 1-10 score it took, filled in by the decide step.
    """

    code: str
    message: str
    severity: float
    cost: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "severity": round(float(self.severity), 3),
                "cost": round(float(self.cost), 2)}


@dataclass
class Finding:
    """What one analyzer says of one photo.

    `score` in [0, 1] (1 = no flaw found on this aspect) or None when the analyzer has no opinion (no face in the
    photo, say). `weight` says how much this aspect matters to the overall score. `features` are numbers kept for
    learned heads and for `keepers show`; `data` is anything else worth storing (boxes, labels, embeddings).
    """

    analyzer: str
    version: str
    score: float | None
    reasons: list[Reason] = field(default_factory=list)
    weight: float = 1.0
    features: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)  # hierarchical, '|'-separated, without the Keepers| root


@dataclass
class Judgement:
    """The judging step's decision for one photo (keepers.core.judge.judgement): the fields of the `--json` contract.

    A photo nothing could judge (too small, blank preview) has no score, verdict, confidence or stars, and says
    why in its reasons. Grouping fills `group` and `pick` afterwards, and may add an `alternate` reason."""

    score: float | None
    verdict: str | None  # "good" | "bad"; None: not judged
    confidence: float | None
    stars: int | None  # 0..5, or -1 for reject
    reasons: list[Reason]
    keywords: list[str] = field(default_factory=list)
    group: str | None = None
    pick: bool = False
    judged_by: str | None = "technical"

    @property
    def judged(self) -> bool:
        return self.score is not None


Verdict = Judgement  # the name the writers and the catalog have used
