"""Find the photos under some paths: walk folders, keep photo files, pair a RAW with its same-named JPEG/HEIF."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from keepers.core.types import Photo

KINDS = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
         ".webp": "webp", ".heic": "heif", ".heif": "heif", ".hif": "heif"}
RAW_EXTS = {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".rw2", ".rwl", ".dng",
            ".orf", ".pef", ".srw", ".3fr", ".erf", ".iiq", ".kdc", ".dcr", ".mef", ".mos", ".mrw", ".x3f"}
KINDS.update(dict.fromkeys(RAW_EXTS, "raw"))
# videos: judged one frame a second by `keepers watch` and the daemon (keepers.sidecar.video), not by a cull,
# which lists them as skipped rather than pass over them in silence
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm", ".mts", ".m2ts"}
VIDEO_SKIPPED = "a video: `keepers cull` judges photos; `keepers watch` and the daemon judge videos, one frame a second"
# what a camera writes beside a RAW of the same frame (RAW+JPEG, or RAW+HEIF on recent Canon/Sony/Fuji bodies)
COMPANION_KINDS = {"jpeg", "heif"}
# thumbnail caches and trash folders of NAS boxes and other systems: their JPEGs are not the photographer's
SKIP_DIRS = {"@eaDir", "#recycle", "$RECYCLE.BIN", "System Volume Information", "__MACOSX"}


def kind_of(path: str) -> str:
    """The kind of photo a file name says it holds, or "unknown"."""
    return KINDS.get(os.path.splitext(path)[1].lower(), "unknown")


def _reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "no such file or folder"
    return e.strerror or str(e)


def is_video(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_EXTS


def _walk(top: str, recursive: bool, files: list[str], errors: list[tuple[str, str]],
          videos: list[str]) -> None:
    def onerror(e: OSError) -> None:
        errors.append((e.filename if isinstance(e.filename, str) else top, f"cannot read the folder: {_reason(e)}"))

    for folder, dirs, names in os.walk(top, onerror=onerror):
        # hidden folders (.git, .Trash, Lightroom previews) and hidden files (macOS "._IMG_1.JPG" resource
        # forks, which look like photos but are not) are never the photographer's frames
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS) if recursive else []
        files.extend(os.path.join(folder, n) for n in names if not n.startswith(".") and kind_of(n) != "unknown")
        videos.extend(os.path.join(folder, n) for n in names if not n.startswith(".") and is_video(n))


def _pair(files: list[str]) -> list[Photo]:
    """One Photo per frame: a RAW takes the JPEG/HEIF files of the same folder and stem as companions."""
    raws: dict[tuple[str, str], Photo] = {}
    photos: list[Photo] = []
    for f in files:
        if kind_of(f) == "raw":
            key = os.path.splitext(f)[0]
            raws.setdefault((os.path.dirname(key), os.path.basename(key)), p := Photo(f, "raw"))
            photos.append(p)
    for f in files:
        kind = kind_of(f)
        if kind == "raw":
            continue
        stem = os.path.splitext(f)[0]
        raw = raws.get((os.path.dirname(stem), os.path.basename(stem))) if kind in COMPANION_KINDS else None
        if raw is not None:
            raw.companions.append(f)
        else:
            photos.append(Photo(f, kind))
    photos.sort(key=lambda p: p.path)
    return photos


def discover(paths: list[str | Path], recursive: bool = True, skipped: list[tuple[str, str]] | None = None
             ) -> tuple[list[Photo], list[tuple[str, str]]]:
    """Photos under `paths` (sorted by path) and (path, reason) for each path that could not be walked.

    Files inside folders are kept by extension; a file named explicitly is kept whatever its extension (kind
    "unknown" when not a photo's), so the loader reports why it cannot be read. Videos are not photos: each is
    added to `skipped` as (path, why), where given.
    """
    files: list[str] = []
    errors: list[tuple[str, str]] = []
    videos: list[str] = []
    for p in paths:
        p = os.fsdecode(p)  # bytes names are decoded like os.walk does (surrogateescape), so all paths are str
        try:
            st = os.stat(p)
        except OSError as e:
            errors.append((p, _reason(e)))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(p, recursive, files, errors, videos)
        elif stat.S_ISREG(st.st_mode):
            (videos if is_video(p) else files).append(p)
        else:
            errors.append((p, "not a regular file or folder"))
    if skipped is not None:
        skipped.extend((v, VIDEO_SKIPPED) for v in sorted(set(videos)))
    unique = {os.path.abspath(f): f for f in reversed(files)}  # a file named twice counts once (first naming kept)
    return _pair(sorted(unique.values())), sorted(errors)
