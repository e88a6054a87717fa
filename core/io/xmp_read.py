"""What a sidecar and a photo hold, read through this thread's exiftool: read_sidecar (every field Keepers reads, for
the review page, the importer and the tests), raw_tags (a sidecar's tags before a write, strictly), photo_xmp and
photo_rating (the photo's own XMP, its packet and its star rating), and the helpers that turn exiftool's JSON values
into lists and numbers (as_list, num, first, empty), which the plan and the writer use too. Apart from
core/io/xmp.py so that everything a write reads first is in one place and the write reads as a flow.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from exiftool.exceptions import ExifToolException

from keepers.core.io import exiftool as et_proc
from keepers.core.errors import ReadError

_READ_TAGS = ("-XMP-xmp:Rating", "-XMP-xmp:Label", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject",
              "-XMP-digiKam:TagsList", "-XMP-digiKam:PickLabel", "-XMP-digiKam:ColorLabel",
              "-XMP-photoshop:Urgency",
              "-XMP-darktable:DarktableColorLabels", "-XMP-darktable:DarktableXmpVersion",
              "-XMP-keepers:all", "-Error", "-Warning", "-File:FileType")
_XMP_TAGS = tuple(t for t in _READ_TAGS if t.startswith("-XMP-"))


def first(v):
    return v[0] if isinstance(v, list) else v


def as_list(v) -> list[str]:
    return [] if v is None or v == "" else [str(x) for x in (v if isinstance(v, list) else [v])]


def num(v) -> float | None:
    try:
        return float(first(v))
    except (TypeError, ValueError):
        return None


def raw_tags(et, path: Path, strict: bool = False) -> dict | None:
    """The tags Keepers reads, by bare name; None for an empty file. `strict`: a non-minor warning (a packet
    exiftool could read only in part) is an error too."""
    out = et.execute("-j", "-struct", *_READ_TAGS, os.fsencode(path), raw_bytes=True).decode("utf-8", "replace")
    status, err = et.last_status, (et.last_stderr or b"").decode("utf-8", "replace")
    try:  # numbers as their exact text: a keyword "1.50" must not come back as 1.5
        rec = {k.rpartition(":")[2]: v for k, v in json.loads(out or "[{}]", parse_float=str, parse_int=str)[0].items()}
    except (ValueError, IndexError, AttributeError) as e:
        raise ReadError(path, f"exiftool gave no readable answer ({e})") from e
    if rec.get("Error") == "File is empty":
        return None
    # with tags found, exiftool puts its complaint in the Error/Warning tags, not on stderr
    notes = err.splitlines() + [f"{k}: {rec[k]}" for k in ("Error", "Warning") if k in rec]
    bad = [n for n in notes if n.startswith("Error") or (strict and n.startswith("Warning") and "[minor]" not in n)]
    if rec.get("FileType") != "XMP":  # exiftool reads a text file as TXT without complaint
        bad.append(f"not an XMP packet (exiftool sees {rec.get('FileType') or 'an unknown type'})")
    if status or bad or not out:
        raise ReadError(path, "; ".join(bad) or f"exiftool exit status {status}")
    return rec


def photo_rating(et, photo: Path) -> float | None:
    """A non-zero star rating inside the photo itself (Lightroom embeds XMP in JPEGs; cameras rate into RAWs):
    with no rating in the sidecar, that one is the photographer's. 0 there means unrated."""
    try:
        out = et.execute("-j", "-fast", "-XMP-xmp:Rating", "-IFD0:Rating", os.fsencode(photo), raw_bytes=True)
        rec = json.loads(out.decode("utf-8", "replace") or "[{}]")[0]
    except (OSError, ValueError, IndexError, ExifToolException):
        return None  # an unreadable photo has no rating Keepers could keep
    stars = [num(v) for k, v in rec.items() if k != "SourceFile"]
    return next((s for s in stars if s), None)


def photo_xmp(et, photo: Path) -> tuple[dict, bytes | None, float | None]:
    """The photo's own XMP as Keepers reads a sidecar (labels, rating, keywords, keepers:* where --embed wrote
    them), its XMP packet (None: it has none) and its EXIF star rating (cameras rate into IFD0), in one exiftool
    command. ReadError when exiftool cannot read the photo."""
    try:
        out = et.execute("-j", "-struct", "-b", "-fast", *_XMP_TAGS, "-XMP:XMP", "-IFD0:Rating", os.fsencode(photo),
                         raw_bytes=True)
        rec = json.loads(out.decode("utf-8", "replace") or "[{}]", parse_float=str, parse_int=str)[0]
    except (ValueError, IndexError, AttributeError) as e:
        raise ReadError(photo, f"exiftool gave no readable answer ({e})") from e
    except (OSError, ExifToolException) as e:
        raise ReadError(photo, str(e)) from e
    packet = rec.pop("XMP:XMP", None)
    if isinstance(packet, str):  # text in the JSON, or base64 where it is not valid UTF-8
        packet = base64.b64decode(packet[7:]) if packet.startswith("base64:") else packet.encode()
    exif_rating = num(rec.pop("EXIF:Rating", None)) or None
    tags = {k.rpartition(":")[2]: v for k, v in rec.items() if k.startswith("XMP")}
    return tags, (packet or None), exif_rating


def empty(v) -> bool:
    return v is None or v == "" or v == []


def read_sidecar(path: str | os.PathLike) -> dict:
    """Rating, label, keywords and every keepers:* field of a sidecar (defaults when it does not exist; ReadError
    when it is not XMP)."""
    path = Path(path)
    t = (raw_tags(et_proc.get(), path) if path.exists() else None) or {}
    rating = num(t.get("Rating"))
    return {
        "rating": None if rating is None else (int(rating) if rating.is_integer() else rating),
        "label": t.get("Label"), "keywords": as_list(t.get("Subject")),
        "hierarchical": as_list(t.get("HierarchicalSubject")),
        "score": num(t.get("Score")), "verdict": t.get("Verdict"), "confidence": num(t.get("Confidence")),
        "stars": None if num(t.get("Stars")) is None else int(num(t.get("Stars"))),
        "rating_set": None if num(t.get("RatingSet")) is None else int(num(t.get("RatingSet"))),
        "reasons": as_list(t.get("Reasons")), "reason_codes": as_list(t.get("ReasonCodes")),
        "keywords_added": as_list(t.get("KeywordsAdded")), "group": t.get("Group"), "group_kind": t.get("GroupKind"),
        "pick": None if t.get("Pick") is None else str(t.get("Pick")).lower() == "true",
        "judged_by": t.get("JudgedBy"), "analyzers": as_list(t.get("Analyzers")), "analyzed_at": t.get("AnalyzedAt"),
        "version": t.get("Version"), "host": t.get("Host"), "properties_set": as_list(t.get("PropertiesSet")),
        "overruled": as_list(t.get("Overruled")),
        "pick_label": None if num(t.get("PickLabel")) is None else int(num(t.get("PickLabel"))),
        "color_label": None if num(t.get("ColorLabel")) is None else int(num(t.get("ColorLabel"))),
        "tags_list": as_list(t.get("TagsList")),
        "darktable_colorlabels": [int(x) for x in as_list(t.get("DarktableColorLabels")) if x.lstrip("-").isdigit()],
        "darktable_xmp_version": t.get("DarktableXmpVersion"),
    }
