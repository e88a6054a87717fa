"""Read ratings, pick/colour labels and tags from digiKam's `digikam4.db` (SQLite), read-only.

digiKam caches its database while it runs and writing behind its back is unsafe (../shared/research/hosts-xmp.md
B.3), so the file is opened with `mode=ro` and never written. Pick and colour labels are tags under
`_Digikam_Internal_Tags_` ("Pick Label Rejected", "Color Label Red"); a photo's path is its album root's
`specificPath` (on the volume the root's `identifier` names) + album `relativePath` + image `name`.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from keepers.core.errors import ReadError

INTERNAL = "_Digikam_Internal_Tags_"
PICK = {"Pick Label None": 0, "Pick Label Rejected": 1, "Pick Label Pending": 2, "Pick Label Accepted": 3}
COLOUR = {"Color Label None": 0, "Color Label Red": 1, "Color Label Orange": 2, "Color Label Yellow": 3,
          "Color Label Green": 4, "Color Label Blue": 5, "Color Label Magenta": 6, "Color Label Gray": 7,
          "Color Label Black": 8, "Color Label White": 9}
STATUS_VISIBLE = 1  # Images.status: 1 visible, 2 hidden, 3 trashed, 4 obsolete


@dataclass
class DigikamPhoto:
    path: str
    rating: int | None  # 0..5; None where digiKam has none (-1)
    pick_label: int | None  # 0 none, 1 rejected, 2 pending, 3 accepted
    color_label: int | None  # 1 red .. 9 white
    tags: list[str] = field(default_factory=list)  # "places/Norway", without internal tags


def _root_path(identifier: str | None, specific: str | None) -> str:
    """An album root's folder: `volumeid:?path=/x` roots are the folder itself; `volumeid:?uuid=…` roots are
    `specificPath` on a mounted volume (resolved through /dev/disk/by-uuid where that exists)."""
    specific = specific or "/"
    query = parse_qs(urlparse(identifier or "").query)
    if "path" in query:
        return os.path.normpath(os.path.join(unquote(query["path"][0]), specific.lstrip("/")))
    uuid = query.get("uuid", [None])[0]
    mount = _mount_of_uuid(uuid) if uuid else None
    return os.path.normpath(os.path.join(mount or "/", specific.lstrip("/")))


def _mount_of_uuid(uuid: str) -> str | None:
    dev = Path("/dev/disk/by-uuid") / uuid
    try:
        real = os.path.realpath(dev)
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 1 and os.path.realpath(parts[0]) == real:
                    return parts[1].replace("\\040", " ")
    except OSError:
        return None
    return None


def _tag_paths(db) -> tuple[dict[int, str], set[int]]:
    """Every tag's full path ("a/b/c") by id, and the ids of digiKam's internal tags."""
    rows = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, pid, name FROM Tags")}
    paths: dict[int, str] = {}
    internal: set[int] = set()

    def path(i: int, depth: int = 0) -> str:
        if i in paths:
            return paths[i]
        pid, name = rows[i]
        parent = path(pid, depth + 1) if pid in rows and pid != i and depth < 64 else ""
        paths[i] = f"{parent}/{name}" if parent else name
        return paths[i]

    for i in rows:
        p = path(i)
        if p == INTERNAL or p.startswith(INTERNAL + "/"):
            internal.add(i)
    return paths, internal


def read(db_file: str | os.PathLike, under: str | os.PathLike | None = None) -> list[DigikamPhoto]:
    """The visible photos digiKam knows (under the folder `under`, if given), with their labels and tags."""
    # as_uri() percent-escapes what a URI may not hold (`%`, `#`, `?` in a folder name) and writes a Windows path
    # as file:///C:/..., which SQLite reads; an f-string `file:{path}` broke on both
    uri = f"{Path(db_file).absolute().as_uri()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise ReadError(db_file, f"not a readable digiKam database: {e}") from e
    try:
        roots = {r[0]: _root_path(r[1], r[2])
                 for r in db.execute("SELECT id, identifier, specificPath FROM AlbumRoots")}
        tag_paths, internal = _tag_paths(db)
        images = db.execute(
            "SELECT i.id, a.albumRoot, a.relativePath, i.name, ii.rating FROM Images i "
            "JOIN Albums a ON a.id = i.album LEFT JOIN ImageInformation ii ON ii.imageid = i.id "
            "WHERE i.status = ? ORDER BY i.id", (STATUS_VISIBLE,)).fetchall()
        tags: dict[int, list[int]] = {}
        for image_id, tag_id in db.execute("SELECT imageid, tagid FROM ImageTags ORDER BY imageid, tagid"):
            tags.setdefault(image_id, []).append(tag_id)
    except sqlite3.Error as e:
        raise ReadError(db_file, f"not a digiKam database (or an unknown schema): {e}") from e
    finally:
        db.close()
    out = []
    prefix = os.path.abspath(under) if under else None
    for image_id, root, rel, name, rating in images:
        if root not in roots:
            continue
        path = os.path.normpath(os.path.join(roots[root], (rel or "/").lstrip("/"), name))
        if prefix and not (path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)):
            continue
        names = [tag_paths.get(t, "") for t in tags.get(image_id, [])]
        leaf = {n.rpartition("/")[2] for n, t in zip(names, tags.get(image_id, [])) if t in internal}
        pick = next((PICK[n] for n in leaf if n in PICK), None)
        colour = next((COLOUR[n] for n in leaf if n in COLOUR), None)
        user = [n for n, t in zip(names, tags.get(image_id, [])) if t not in internal and n]
        out.append(DigikamPhoto(path, rating if rating is not None and rating >= 0 else None, pick, colour, user))
    return out
