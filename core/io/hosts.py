"""Host adapters: how each photo program reads a verdict from XMP (../shared/research/hosts-xmp.md, docs/interop.md).

An adapter decides the sidecar name, the xmp:Rating value (darktable and Lightroom: -1 for a reject; digiKam: 0..5
with digiKam:PickLabel = 1 for a reject), the colour-label properties and the extra keyword lists. Labels follow a
photo's role: reject, pick (best of its group), alternate (another frame of a culled group), keeper (good), other.
The generic adapter is here; each host's is a plugin in plugins/<host>/adapter.py, registered through
`keepers_host_adapters` like a third-party adapter (keepers.core.pm.DEFAULT_PLUGINS); `adapter_for` picks one.
"""

from __future__ import annotations

import os
from abc import ABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Verdict

COLOURS = ("red", "yellow", "green", "blue", "purple")  # the five every host has (Lightroom's label set)
# xmp:Label as digiKam and darktable read it: these names only, as written (a Bridge label, "Approved", shows none)
LABEL_NAMES = frozenset(c.title() for c in COLOURS)
ROLES = ("reject", "pick", "alternate", "keeper", "other")
DEFAULT_LABELS: dict[str, str | None] = {"reject": "red", "pick": "green", "alternate": None, "keeper": None,
                                         "other": None}


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
    `member`: the property is a list (darktable:colorlabels) and Keepers owns one entry of it. `also`: the other
    properties the host reads the same label from (digiKam: xmp:Label after its own): one showing a label that is
    neither Keepers' nor the host's copy of Keepers' is the photographer's, and Keepers' label gives way to it."""

    tag: str  # exiftool group:name, e.g. "XMP-digiKam:PickLabel"
    key: str  # the bare name it is read under
    name: str  # prefix:property, as recorded in keepers:PropertiesSet
    value: str | None
    member: bool = False
    also: tuple["AlsoRead", ...] = ()


@dataclass(frozen=True)
class AlsoRead:
    """Another property a host reads a label from, where its own is absent or, for darktable, before it."""

    key: str  # the bare name it is read under
    name: str  # prefix:property, as keepers:PropertiesSet records it where Keepers set it (another host's run)
    shows: frozenset[str]  # the values the host shows as a label; any other shows none
    mirror: Mapping[str, str] = field(default_factory=dict)  # the host's own value -> what it writes here along


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


def values(v) -> list[str]:
    """A property as exiftool read it (absent, one value or a list) as a list of strings."""
    return [] if v is None or v == "" else [str(x) for x in (v if isinstance(v, list) else [v])]


def number(v) -> float | None:
    try:
        return float(v[0] if isinstance(v, list) else v)
    except (TypeError, ValueError):
        return None


def components(paths: list[str]) -> set[str]:
    """Every name in hierarchical keywords (`a|b` -> a, b), casefolded."""
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

    def reads_sidecar(self, photo_file: str | os.PathLike) -> bool:
        """Whether this host reads a sidecar for this file. Where it does not (Lightroom's JPEG, TIFF, PSD, PNG,
        DNG: it reads the XMP inside them), Keepers writes none: the host's plug-in applies the verdict, or, with
        `--embed`, Keepers writes it into the file (keepers.core.io.xmp.SidecarWriter.embed)."""
        return True

    def rating(self, v: Verdict) -> int:
        """The xmp:Rating to write: -1 for a reject (XMP spec, darktable, Bridge)."""
        return int(v.stars)

    def rating_unset(self, old: dict) -> bool:
        """Whether the sidecar's rating is a placeholder rather than the photographer's: 0 means unrated (XMP
        spec), but only in a sidecar Keepers never wrote; after that keepers:RatingSet decides."""
        return old.get("Version") is None and number(old.get("Rating")) == 0

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


def labels_of(settings) -> dict[str, str]:
    """The `[labels]` table as Settings holds it (none for no settings, e.g. a test's adapter_for(None, host))."""
    return dict(getattr(settings, "labels", None) or {})


@hookimpl
def keepers_host_adapters(settings):
    return [GenericAdapter(labels_of(settings))]


def adapters(settings=None) -> dict[str, HostAdapter]:
    """Every adapter by name, from every plugin: the generic one here, the hosts' in plugins/<host>/adapter.py and
    third-party ones. A plugin registered later replaces an adapter of the same name."""
    from keepers.core import pm

    found: dict[str, HostAdapter] = {}
    for group in reversed(pm.manager.hook.keepers_host_adapters(settings=settings)):  # pluggy calls the last first
        found.update({a.name: a for a in group or []})
    return found


def adapter_for(settings=None, name: str | None = None) -> HostAdapter:
    """The adapter named `name`, else `settings.host` (default generic)."""
    name = name or getattr(settings, "host", None) or "generic"
    found = adapters(settings)
    if name not in found:
        raise UserError(f"unknown host {name!r}; one of {', '.join(sorted(found))}")
    return found[name]
