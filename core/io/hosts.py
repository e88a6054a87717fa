"""Host adapters: how each photo program reads a verdict from XMP (../shared/research/hosts-xmp.md, docs/interop.md).

An adapter decides the sidecar name, the xmp:Rating value (darktable and Lightroom: -1 for a reject; digiKam: 0..5
with digiKam:PickLabel = 1 for a reject), the colour-label properties and the extra keyword lists. Labels follow a
photo's role: reject, pick (best of its group), alternate (another frame of a culled group), keeper (good), other.
Built-ins are registered through `keepers_host_adapters`, like a third-party adapter; `adapter_for` picks one.
"""

from __future__ import annotations

import os
import sys
import tomllib
from abc import ABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Verdict

COLOURS = ("red", "yellow", "green", "blue", "purple")  # the five every host has (Lightroom's label set)
ROLES = ("reject", "pick", "alternate", "keeper", "other")
DEFAULT_LABELS: dict[str, str | None] = {"reject": "red", "pick": "green", "alternate": None, "keeper": None,
                                         "other": None}
DARKTABLE_LABEL = {c: i for i, c in enumerate(COLOURS)}  # darktable:colorlabels: 0 red .. 4 purple
DIGIKAM_LABEL = {"red": 1, "yellow": 3, "green": 4, "blue": 5, "purple": 6}  # 2 orange, 6 magenta, 7 gray ...
DIGIKAM_PICK = {"reject": 1, "alternate": 2, "pick": 3, "keeper": 3}  # 0 none, 1 rejected, 2 pending, 3 accepted


def role(v: Verdict) -> str:
    """What a verdict means for labels: reject beats everything; a group's alternate is not a keeper."""
    if v.stars == -1:
        return "reject"
    if "group|alternate" in v.keywords:
        return "alternate"
    if v.pick and v.group:
        return "pick"
    return "keeper" if v.verdict == "good" else "other"


@dataclass
class Prop:
    """A single-valued property Keepers sets when absent or still its own (`value` None: Keepers wants none).
    `member`: the property is a list (darktable:colorlabels) and Keepers owns one entry of it."""

    tag: str  # exiftool group:name, e.g. "XMP-digiKam:PickLabel"
    key: str  # the bare name it is read under
    name: str  # prefix:property, as recorded in keepers:PropertiesSet
    value: str | None
    member: bool = False


@dataclass
class KeywordList:
    """A keyword list property: `want` Keepers' entries; `seed` the photographer's entries the host would lose
    unless they are copied in (darktable, digiKam read only one list); `mine(entry)` picks this list's entries
    out of keepers:KeywordsAdded."""

    tag: str
    key: str
    want: list[str]
    seed: list[str] = field(default_factory=list)
    mine: object = None  # Callable[[str], bool]


def _flat(v) -> list[str]:
    return [] if v is None or v == "" else [str(x) for x in (v if isinstance(v, list) else [v])]


def _num(v) -> float | None:
    try:
        return float(v[0] if isinstance(v, list) else v)
    except (TypeError, ValueError):
        return None


def _components(paths: list[str]) -> set[str]:
    return {c.casefold() for p in paths for c in p.split("|")}


class HostAdapter(ABC):
    """The conventions of one photo program. Subclass and return instances from `keepers_host_adapters`."""

    name = "generic"
    naming = "auto"  # keepers.core.io.naming.sidecar_for naming
    description = "any XMP reader: xmp:Rating (-1 reject), xmp:Label, dc:subject, lr:hierarchicalSubject"

    def __init__(self, labels: Mapping[str, str | None] | None = None, naming: str | None = None):
        merged = {**DEFAULT_LABELS, **{k: (v or None) for k, v in (labels or {}).items()}}
        bad = [f"{k}={v}" for k, v in merged.items() if k not in ROLES or (v is not None and v not in COLOURS)]
        if bad:
            raise UserError(f"bad colour label setting {', '.join(bad)}: roles {', '.join(ROLES)}; "
                            f"colours {', '.join(COLOURS)} or empty")
        self.labels = merged
        if naming:
            self.naming = naming

    @property
    def signature(self) -> str:
        """Changes whenever what this adapter writes would change (part of the catalog's written-fingerprint)."""
        return f"{self.name}:{self.naming}:" + ",".join(f"{r}={self.labels[r] or ''}" for r in ROLES)

    def colour(self, v: Verdict) -> str | None:
        return self.labels.get(role(v))

    def sidecar(self, photo_file: str | os.PathLike, names=None) -> Path:
        """The photo's one sidecar under this host's naming; `names`: its folder's FolderNames, if kept."""
        from keepers.core.io.naming import sidecar_for

        return sidecar_for(photo_file, self.naming, names)

    def rating(self, v: Verdict) -> int:
        """The xmp:Rating to write: -1 for a reject (XMP spec, darktable, Bridge)."""
        return int(v.stars)

    def rating_unset(self, old: dict) -> bool:
        """Whether the sidecar's rating is a placeholder rather than the photographer's: 0 means unrated (XMP
        spec), but only in a sidecar Keepers never wrote; after that keepers:RatingSet decides."""
        return old.get("Version") is None and _num(old.get("Rating")) == 0

    def props(self, v: Verdict) -> list[Prop]:
        c = self.colour(v)
        return [Prop("XMP-xmp:Label", "Label", "xmp:Label", c.title() if c else None)]

    def keyword_lists(self, paths: list[str], old: dict, ours_before: list[str]) -> list[KeywordList]:
        """dc:subject gets the leaf ("bird"), lr:hierarchicalSubject the full path ("Keepers|animal|bird")."""
        leaves = list(dict.fromkeys(p.rpartition("|")[2] for p in paths))
        return [KeywordList("XMP-lr:HierarchicalSubject", "HierarchicalSubject", paths, mine=lambda k: "|" in k),
                KeywordList("XMP-dc:Subject", "Subject", leaves,
                            mine=lambda k: "|" not in k and not k.startswith("Keepers/"))]


class GenericAdapter(HostAdapter):
    pass


class LightroomAdapter(HostAdapter):
    """Lightroom Classic reads `IMG.xmp` beside proprietary raws only (JPEG/TIFF/DNG: embedded XMP, which Keepers
    does not touch) after Metadata > Read Metadata from Files. Its pick flag is catalog-only: the plugin sets it.
    xmp:Rating -1 (the XMP spec's reject) is written for rejects; whether LrC shows it as rejected is unverified,
    so the reject colour label is the visible sign."""

    name = "lightroom"
    naming = "lightroom"
    description = "Lightroom Classic: IMG.xmp for raws, xmp:Rating, xmp:Label (label text), keywords"


class DarktableAdapter(HostAdapter):
    """darktable: `IMG.CR2.xmp`, xmp:Rating -1 = rejected, darktable:colorlabels (it reads xmp:Label only from
    other programs, and then ignores its own labels, so Keepers writes darktable's), and every keyword also in
    lr:hierarchicalSubject (darktable reads dc:subject only when there is no hierarchical list)."""

    name = "darktable"
    naming = "darktable"
    description = "darktable: IMG.ext.xmp, xmp:Rating (-1 reject), darktable:colorlabels, lr:hierarchicalSubject"

    def __init__(self, labels=None, naming=None, import_rating: int | None = 1):
        super().__init__(labels, naming)
        # darktable writes ui_last/import_initial_rating (default 1) into every sidecar it creates
        self.import_rating = import_rating

    def rating_unset(self, old: dict) -> bool:
        if super().rating_unset(old):
            return True
        return (old.get("Version") is None and old.get("DarktableXmpVersion") is not None
                and self.import_rating is not None and _num(old.get("Rating")) == self.import_rating)

    def props(self, v: Verdict) -> list[Prop]:
        c = self.colour(v)
        return [Prop("XMP-darktable:DarktableColorLabels", "DarktableColorLabels", "darktable:colorlabels",
                     None if c is None else str(DARKTABLE_LABEL[c]), member=True)]

    def keyword_lists(self, paths, old, ours_before):
        lists = super().keyword_lists(paths, old, ours_before)
        theirs_h = [h for h in _flat(old.get("HierarchicalSubject")) if h not in ours_before]
        if paths and not theirs_h:  # Keepers creates the hierarchical list: the flat keywords go in it too
            lists[0].seed = [s for s in _flat(old.get("Subject")) if s not in ours_before]
        return lists


def _digikam_path(p: str) -> str:
    """`Keepers|animal|bird` -> `Keepers/animal/bird`; a `/` inside a name would split it, so it becomes `-`."""
    return "/".join(c.replace("/", "-") for c in p.split("|"))


class DigikamAdapter(HostAdapter):
    """digiKam: `IMG.CR2.xmp`, xmp:Rating 0..5 (no -1), digiKam:PickLabel (1 rejected, 2 pending, 3 accepted),
    digiKam:ColorLabel, digiKam:TagsList with `/` (read before any other keyword list)."""

    name = "digikam"
    naming = "digikam"
    description = "digiKam: IMG.ext.xmp, xmp:Rating 0-5, digiKam:PickLabel/ColorLabel/TagsList"

    def rating(self, v: Verdict) -> int:
        return max(0, int(v.stars))

    def props(self, v: Verdict) -> list[Prop]:
        c, pick = self.colour(v), DIGIKAM_PICK.get(role(v))
        return [Prop("XMP-digiKam:PickLabel", "PickLabel", "digiKam:PickLabel", None if pick is None else str(pick)),
                Prop("XMP-digiKam:ColorLabel", "ColorLabel", "digiKam:ColorLabel",
                     None if c is None else str(DIGIKAM_LABEL[c]))]

    def keyword_lists(self, paths, old, ours_before):
        lists = super().keyword_lists(paths, old, ours_before)
        seed: list[str] = []
        if paths and not _flat(old.get("TagsList")):  # Keepers creates TagsList: keep what digiKam showed
            theirs_h = [h for h in _flat(old.get("HierarchicalSubject")) if h not in ours_before]
            known = _components(theirs_h)
            seed = [_digikam_path(h) for h in theirs_h]
            seed += [s for s in _flat(old.get("Subject")) if s not in ours_before and s.casefold() not in known]
        lists.append(KeywordList("XMP-digiKam:TagsList", "TagsList", [_digikam_path(p) for p in paths],
                                 seed=list(dict.fromkeys(seed)), mine=lambda k: k.startswith("Keepers/")))
        return lists


BUILTIN = (GenericAdapter, LightroomAdapter, DarktableAdapter, DigikamAdapter)


def label_settings(settings=None) -> dict[str, str | None]:
    """Colour per role: the `[labels]` table of config.toml (KEEPERS_CONFIG or the default path), updated by
    `settings.host_labels` where Settings has that field."""
    from keepers.core.settings import config_path

    path = Path(os.environ.get("KEEPERS_CONFIG", config_path()))
    try:
        labels = dict(tomllib.loads(path.read_text()).get("labels", {})) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"cannot read colour labels from {path}: {e}") from e
    return {**labels, **dict(getattr(settings, "host_labels", None) or {})}


@hookimpl
def keepers_host_adapters(settings):
    labels = label_settings(settings)
    return [cls(labels) for cls in BUILTIN]


def adapters(settings=None) -> dict[str, HostAdapter]:
    """Every adapter by name: the built-ins, then those of plugins (which may replace a built-in)."""
    from keepers.core import pm

    found = {a.name: a for a in keepers_host_adapters(settings)}
    for impl in pm.manager.hook.keepers_host_adapters.get_hookimpls():  # registration order: the later one wins
        if impl.plugin is not sys.modules[__name__]:  # the built-ins are in already
            found.update({a.name: a for a in impl.function(settings=settings) or []})
    return found


def adapter_for(settings=None, name: str | None = None) -> HostAdapter:
    """The adapter named `name`, else `settings.host` (default generic)."""
    name = name or getattr(settings, "host", None) or "generic"
    found = adapters(settings)
    if name not in found:
        raise UserError(f"unknown host {name!r}; one of {', '.join(sorted(found))}")
    return found[name]
