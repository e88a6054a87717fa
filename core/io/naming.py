"""Which file is a photo's one sidecar (../shared/research/hosts-xmp.md: naming per host, RAW+JPEG pairs, case).

A folder's names are read once into a FolderNames index. Looking them up by scanning the listing cost 4 ms a
photo in a 7,500-file folder (a day's shoot with its sidecars), three scans a written sidecar: a minute of
write-back for 5,000 photos. A batch of writes (keepers.core.io.xmp.SidecarWriter(cache_folders=True)) keeps one
index per folder for its duration.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from pathlib import Path

NAMINGS = ("auto", "darktable", "digikam", "lightroom")
RAW_EXTS = {"3fr", "ari", "arw", "bay", "cr2", "cr3", "crw", "dcr", "dcs", "dng", "erf", "fff", "iiq", "k25", "kdc",
            "mef", "mos", "mrw", "nef", "nrw", "orf", "ori", "pef", "raf", "raw", "rw2", "rwl", "sr2", "srf", "srw",
            "x3f"}
PHOTO_EXTS = RAW_EXTS | {"jpg", "jpeg", "jpe", "png", "tif", "tiff", "webp", "heic", "heif", "hif", "avif", "jxl",
                         "gif", "bmp", "psd", "mp4", "mov", "avi", "mts", "m2ts", "m4v"}
TMP = ".keepers-"  # temp files: .<sidecar name>.keepers-<pid>-<random>.tmp


def _ext(name: str) -> str:
    return name.rpartition(".")[2].casefold() if "." in name else ""


def _stem(name: str) -> str:
    return name.rpartition(".")[0] if "." in name else name


class FolderNames:
    """A folder's entries, listed once, looked up by case-folded name, by case-folded stem, and (Keepers' temp
    files) by the sidecar they were written for. Each index is built on its first lookup: most photos need only
    the first, and a single write in a big folder should cost little more than the listing."""

    def __init__(self, folder: str | os.PathLike):
        try:
            self.names: set[str] = set(os.listdir(folder))
        except OSError:  # unreadable: the write that follows reports it
            self.names = set()

    @functools.cached_property
    def by_fold(self) -> dict[str, list[str]]:
        return _index(self.names, str.casefold)

    @functools.cached_property
    def by_stem(self) -> dict[str, list[str]]:
        return _index(self.names, lambda n: _stem(n).casefold())

    @functools.cached_property
    def temps(self) -> dict[str, list[str]]:
        return _index((n for n in self.names if _is_temp(n)), lambda n: n[1 : n.rindex(TMP)])

    def add(self, name: str) -> None:
        """A file created since the listing (a sidecar the batch wrote)."""
        self._change(name, True)

    def discard(self, name: str) -> None:
        """A file removed since the listing."""
        self._change(name, False)

    def _change(self, name: str, present: bool) -> None:
        if (name in self.names) == present:
            return
        (self.names.add if present else self.names.discard)(name)
        keys = {"by_fold": name.casefold(), "by_stem": _stem(name).casefold()}
        if _is_temp(name):
            keys["temps"] = name[1 : name.rindex(TMP)]
        for attr, key in keys.items():
            if attr in self.__dict__:  # an index built already follows the change
                entries = self.__dict__[attr][key]
                entries.append(name) if present else entries.remove(name)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and TMP in name and name.endswith(".tmp")


def _index(names, key) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for n in names:
        out[key(n)].append(n)
    return out


def _match(names: FolderNames, wanted: str) -> str | None:
    """`wanted` itself, else a case variant of it (IMG.JPG.xmp for IMG.jpg) that is no other file's full sidecar."""
    if wanted in names.names:
        return wanted
    hits = sorted(n for n in names.by_fold.get(wanted.casefold(), ())
                  if not (n[:-4] in names.names and n[:-4] != wanted[:-4]))  # IMG.JPG.xmp is IMG.JPG's if present
    return hits[0] if hits else None


def _sidecar_for_extension(path: Path) -> str | None:
    """photoshop:SidecarForExtension (Lightroom writes it) says which of same-stem photos a `IMG.xmp` belongs to."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return None
    m = re.search(rb"SidecarForExtension\s*(?:=\s*[\"']|>)\s*([A-Za-z0-9]+)", head)
    return m.group(1).decode().casefold() if m else None


def _owns_stem(photo: Path, names: FolderNames, sidecar: Path | None) -> bool:
    """Whether `photo.xmp` is this photo's: no other photo shares the stem, or the sidecar names this photo's
    extension, or (Lightroom's convention: sidecars are for raws) this is the only raw among them."""
    others = [n for n in names.by_stem.get(photo.stem.casefold(), ()) if n != photo.name and _ext(n) in PHOTO_EXTS]
    if not others:
        return True
    ext = _sidecar_for_extension(sidecar) if sidecar else None
    if ext:
        return ext == _ext(photo.name)
    raws = [n for n in [photo.name, *others] if _ext(n) in RAW_EXTS]
    return raws == [photo.name]


def sidecar_for(photo_file: str | os.PathLike, naming: str = "auto", names: FolderNames | None = None) -> Path:
    """The one sidecar of a photo: an existing `photo.ext.xmp` (any case), else an existing `photo.xmp` that is this
    photo's, else the name to create: `photo.ext.xmp`, or `photo.xmp` for naming="lightroom" when that is
    unambiguous. `names`: the folder's FolderNames, when the caller keeps one (else the folder is listed now).

    RAW+JPEG with one `IMG.xmp`: it belongs to the photo its photoshop:SidecarForExtension names, else to the only
    raw (Lightroom keeps sidecars for raws and embeds XMP in JPEGs); the other files get `IMG.ext.xmp`. With no
    owner (two JPEGs of one stem, two raws), nobody uses it and each file gets `IMG.ext.xmp`.
    """
    if naming not in NAMINGS:
        raise ValueError(f"unknown sidecar naming {naming!r}; one of {', '.join(NAMINGS)}")
    photo = Path(photo_file)
    folder = photo.parent
    names = names if names is not None else FolderNames(folder)
    full = _match(names, photo.name + ".xmp")
    if full:
        return folder / full
    short = _match(names, photo.stem + ".xmp")
    if short and _owns_stem(photo, names, folder / short):
        return folder / short
    if naming == "lightroom" and not short and _owns_stem(photo, names, None):
        return folder / (photo.stem + ".xmp")
    return folder / (photo.name + ".xmp")
