"""Import the photographer's own ratings, labels and keywords into the catalog (table `user_ratings`), from XMP
sidecars, XMP embedded in the photos (Lightroom writes JPEG/DNG metadata there) and digiKam's database.

What Keepers itself wrote is left out: a rating equal to keepers:RatingSet, keywords under `Keepers` or in
keepers:KeywordsAdded, labels recorded in keepers:PropertiesSet; so is a host's placeholder (darktable's import
rating, a 0 meaning unrated). The table lives in the catalog file but is created here, so the catalog's own
migrations stay untouched; later taste learning joins it on `photos.path`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from keepers.core.io import exiftool as et_proc
from keepers.core.io.discover import discover
from keepers.core.errors import ReadError
from keepers.core.io.hosts import COLOURS
from keepers.core.io.naming import sidecar_for
from keepers.core.io.xmp import read_sidecar
from keepers.plugins.darktable.adapter import DarktableAdapter
from keepers.plugins.digikam.adapter import DIGIKAM_LABEL

TABLE = """
CREATE TABLE IF NOT EXISTS user_ratings (
    path TEXT NOT NULL,          -- the photo file
    source TEXT NOT NULL,        -- 'xmp' (sidecar or embedded) | 'digikam'
    rating INTEGER,              -- 1..5 stars, 0 only where a program said 0 on purpose; NULL: none
    rejected INTEGER,            -- 1 rejected (xmp:Rating -1, digiKam pick label 1), 0 not, NULL unknown
    pick_label INTEGER,          -- digiKam: 0 none, 1 rejected, 2 pending, 3 accepted
    color TEXT,                  -- red | yellow | green | blue | purple | other digiKam colours by name
    keywords TEXT NOT NULL,      -- JSON list of hierarchical keywords, '|'-separated
    origin TEXT,                 -- the sidecar, photo or database it was read from
    imported_at TEXT NOT NULL,
    PRIMARY KEY (path, source)
);
"""
DIGIKAM_COLOURS = {v: k for k, v in DIGIKAM_LABEL.items()} | {2: "orange", 7: "gray", 8: "black", 9: "white"}
_EMBEDDED_TAGS = ("-XMP-xmp:Rating", "-IFD0:Rating", "-XMP-xmp:Label", "-XMP-dc:Subject",
                  "-XMP-lr:HierarchicalSubject", "-IPTC:Keywords")


@dataclass
class UserRating:
    path: str
    source: str
    rating: int | None = None
    rejected: bool | None = None
    pick_label: int | None = None
    color: str | None = None
    keywords: list[str] = field(default_factory=list)
    origin: str | None = None

    @property
    def empty(self) -> bool:
        return self.rating is None and not self.rejected and self.pick_label is None and self.color is None \
            and not self.keywords


def _list(v) -> list[str]:
    return [] if v is None or v == "" else [str(x) for x in (v if isinstance(v, list) else [v])]


def _keywords(hierarchical: list[str], flat: list[str], ours: set[str]) -> list[str]:
    """The photographer's keywords: hierarchical paths, then flat ones that are not part of a path."""
    keep = [h for h in hierarchical if h not in ours and h.split("|")[0] != "Keepers"]
    parts = {c.casefold() for h in hierarchical for c in h.split("|")}
    keep += [f for f in flat if f not in ours and f.casefold() not in parts]
    return list(dict.fromkeys(keep))


def _colour(label: str | None) -> str | None:
    return label.casefold() if label and label.casefold() in COLOURS else (label or None)


def from_sidecar(photo_file: str) -> UserRating | None:
    """The photographer's data in the photo's sidecar, None when it has no sidecar."""
    side = sidecar_for(photo_file)
    if not side.exists():
        return None
    s = read_sidecar(side)
    ours = set(s["keywords_added"])
    props = dict(e.split("=", 1) for e in s["properties_set"] if "=" in e)
    r = UserRating(os.path.abspath(photo_file), "xmp", origin=str(side))
    raw = {"Version": s["version"], "Rating": s["rating"], "DarktableXmpVersion": s["darktable_xmp_version"]}
    rating = s["rating"]
    if rating is not None and (rating == s["rating_set"] or DarktableAdapter().rating_unset(raw)):
        rating = None  # Keepers' own, or a host's placeholder
    if rating is not None:
        r.rejected = rating < 0
        r.rating = int(rating) if rating >= 0 else None
    if s["pick_label"] is not None and props.get("digiKam:PickLabel") != str(s["pick_label"]):
        r.pick_label = s["pick_label"]
        r.rejected = r.rejected or s["pick_label"] == 1
    if s["label"] and props.get("xmp:Label") != s["label"]:
        r.color = _colour(s["label"])
    elif s["color_label"] and props.get("digiKam:ColorLabel") != str(s["color_label"]):
        r.color = DIGIKAM_COLOURS.get(s["color_label"])
    else:
        mine = props.get("darktable:colorlabels")
        dt = [c for c in s["darktable_colorlabels"] if str(c) != mine and 0 <= c < len(COLOURS)]
        r.color = COLOURS[dt[0]] if dt else None
    tags = [t.replace("/", "|") for t in s["tags_list"] if not t.startswith("Keepers/")]
    r.keywords = _keywords(list(dict.fromkeys(s["hierarchical"] + tags)), s["keywords"], ours)
    return r


def from_embedded(photo_file: str) -> UserRating | None:
    """Rating, label and keywords inside the photo itself (Lightroom's JPEG/DNG metadata, in-camera ratings)."""
    try:
        out = et_proc.get().execute("-j", "-struct", *_EMBEDDED_TAGS, os.fsencode(photo_file), raw_bytes=True)
        rec = json.loads(out.decode("utf-8", "replace") or "[{}]")[0]
    except (OSError, ValueError, IndexError) as e:
        raise ReadError(photo_file, f"exiftool could not read it: {e}") from e
    t = {k.rpartition(":")[2]: v for k, v in rec.items()}
    r = UserRating(os.path.abspath(photo_file), "xmp", origin=os.path.abspath(photo_file))
    ratings = [float(v) for k, v in rec.items() if k.endswith(":Rating") and isinstance(v, (int, float))]
    rating = next((x for x in ratings if x), None)  # XMP first; 0 = unrated in cameras and XMP alike
    if rating:
        r.rejected = rating < 0
        r.rating = int(rating) if rating > 0 else None
    r.color = _colour(t.get("Label"))
    flat = _list(t.get("Subject")) + [k for k in _list(t.get("Keywords")) if k not in _list(t.get("Subject"))]
    r.keywords = _keywords(_list(t.get("HierarchicalSubject")), flat, set())
    return None if r.empty else r


def from_files(paths: list[str]) -> tuple[list[UserRating], list[tuple[str, str]]]:
    """One record per photo file that carries any of the photographer's data: the sidecar's, else the embedded."""
    photos, errors = discover(paths)
    out: list[UserRating] = []
    for p in photos:
        for f in p.files:
            try:
                r = from_sidecar(f)
                if r is None or r.empty:
                    r = from_embedded(f) or r
            except ReadError as e:
                errors.append((f, e.message))
                continue
            if r is not None and not r.empty:
                out.append(r)
    return out, errors


def from_digikam(db_file: str | os.PathLike, under: str | os.PathLike | None = None) -> list[UserRating]:
    """What digiKam's database holds, minus what Keepers wrote into the sidecar digiKam read it from."""
    from keepers.plugins.digikam.db import read

    out = []
    for d in read(db_file, under):
        side = sidecar_for(d.path)
        s = read_sidecar(side) if side.exists() else None
        props = dict(e.split("=", 1) for e in (s or {}).get("properties_set", []) if "=" in e)
        rating = d.rating
        if s and rating is not None and s["rating_set"] is not None and rating == max(0, s["rating_set"]) \
                and s["rating"] == s["rating_set"]:
            rating = None  # digiKam shows the rating Keepers wrote
        pick = None if props.get("digiKam:PickLabel") == str(d.pick_label) or d.pick_label == 0 else d.pick_label
        colour = None if props.get("digiKam:ColorLabel") == str(d.color_label) or not d.color_label \
            else DIGIKAM_COLOURS.get(d.color_label)
        tags = [t.replace("|", "-").replace("/", "|") for t in d.tags]
        r = UserRating(d.path, "digikam", rating or None, True if pick == 1 else None, pick, colour,
                       _keywords(tags, [], set()), str(Path(db_file).absolute()))
        if not r.empty:
            out.append(r)
    return out


def save(db, ratings: list[UserRating]) -> int:
    """Upsert into `user_ratings` of an open catalog connection (sqlite3); returns the rows written."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with db:
        db.executescript(TABLE)
        db.executemany(
            "INSERT INTO user_ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path, source) DO UPDATE SET "
            "rating=excluded.rating, rejected=excluded.rejected, pick_label=excluded.pick_label, color=excluded.color,"
            " keywords=excluded.keywords, origin=excluded.origin, imported_at=excluded.imported_at",
            [(r.path, r.source, r.rating, None if r.rejected is None else int(r.rejected), r.pick_label, r.color,
              json.dumps(r.keywords, ensure_ascii=False), r.origin, now) for r in ratings])
    return len(ratings)


def load(db, path: str | None = None) -> list[UserRating]:
    db.executescript(TABLE)
    rows = db.execute("SELECT * FROM user_ratings" + (" WHERE path = ?" if path else "") + " ORDER BY path, source",
                      (path,) if path else ()).fetchall()
    return [UserRating(r[0], r[1], r[2], None if r[3] is None else bool(r[3]), r[4], r[5], json.loads(r[6]), r[7])
            for r in rows]


def as_dict(r: UserRating) -> dict:
    return asdict(r)
