"""XMP sidecars: find the one sidecar of a photo and write Keepers' verdict into it without losing anything.

Which properties a host reads is its adapter's business (keepers.core.io.hosts: sidecar name, rating value, colour
labels, extra keyword lists); this module applies the ownership rules to whatever the adapter asks for.

Rules (../shared/research/hosts-xmp.md A.1-A.5): everything in a sidecar that Keepers did not write stays as it was
(exiftool rewrites the packet from what it parsed; it drops only empty rdf lists, which carry nothing). A rating the
photographer set is never replaced. Keywords go under the root `Keepers|` in lr:hierarchicalSubject (full path) and
as the leaf alone in dc:subject (flat tools show "bird", not "Keepers"/"animal" noise); keepers:KeywordsAdded
records what Keepers inserted, entries with a `|` for lr:hierarchicalSubject, `Keepers/…` for digiKam:TagsList and
the rest for dc:subject, and only those are ever removed. A label (xmp:Label, digiKam:PickLabel...) is set only where
there is none or it is still the one Keepers set (keepers:PropertiesSet records those). What Keepers set and the
photographer changed or removed since (in a DAM, in a text editor, in the review page) is theirs for good:
keepers:Overruled records it (property names such as `xmp:Rating`, `xmp:Label`; keyword entries as in
KeywordsAdded) and Keepers never writes it again, so a removed label, rating or keyword stays removed. A write goes
to a temp file in the sidecar's folder, is fsynced and renamed over the sidecar, so a sidecar is always either the
old one or the new one.

The photo's own XMP is the photographer's too (../shared/research/hosts-xmp.md: digiKam reading sidecars ignores
what is inside the photo). A new sidecar starts as a copy of the photo's XMP packet (exiftool's `-xmp -b` recipe for
a sidecar from an image), less develop settings (below), so the labels, rating and keywords a DAM showed stay; and
a label or rating the photo carries counts as the photographer's also where an existing sidecar has none. For a host
that reads no sidecar for a file (Lightroom: JPEG, TIFF, PSD, PNG, DNG), `SidecarWriter.embed` writes the same
properties into the file itself, under the same rules, the exiftool way (a new file, renamed over the photo).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import os
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from exiftool.exceptions import ExifToolException

from keepers import __version__
from keepers.core.io import exiftool as et_proc
from keepers.core.errors import ReadError, WriteError
from keepers.core.io.naming import TMP, FolderNames
from keepers.core.judge.flaws import shown
from keepers.core.judge.texts import line
from keepers.core.types import Verdict

log = logging.getLogger(__name__)

WINDOWS = os.name == "nt"  # a module constant, so the tests run the Windows paths on Linux

ROOT = "Keepers"
_READ_TAGS = ("-XMP-xmp:Rating", "-XMP-xmp:Label", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject",
              "-XMP-digiKam:TagsList", "-XMP-digiKam:PickLabel", "-XMP-digiKam:ColorLabel",
              "-XMP-darktable:DarktableColorLabels", "-XMP-darktable:DarktableXmpVersion",
              "-XMP-keepers:all", "-Error", "-Warning", "-File:FileType")
_XMP_TAGS = tuple(t for t in _READ_TAGS if t.startswith("-XMP-"))
# a photo's develop settings never go into its new sidecar: Camera Raw's (crs:*) and darktable's history describe
# edits the photo already shows (an exported JPEG) or that the program owning the file applies; darktable applies a
# sidecar's history on import, and reads a Lightroom-named sidecar's crs, so a copy would edit the photo twice
_NOT_SEEDED = ("-XMP-crs:all=",)
_DARKTABLE_NS = b"http://darktable.sf.net/"
_DT_LABELS = "XMP-darktable:DarktableColorLabels"
_REPLACE_TRIES = 8  # Windows: a sidecar another program holds open cannot be replaced; wait up to ~2.5 s for it


@dataclass
class WriteResult:
    sidecar: Path
    created: bool
    rating_written: bool
    keywords_added: list[str]  # entries inserted by this write: "Keepers|animal|bird" (hierarchical), "bird" (flat)
    dry_run: bool
    keywords_removed: list[str] = field(default_factory=list)
    keywords_copied: list[str] = field(default_factory=list)  # the photographer's, copied into a list a host reads
    properties: list[str] = field(default_factory=list)  # labels Keepers holds after this write: "xmp:Label=Red"


def _first(v):
    return v[0] if isinstance(v, list) else v


def _list(v) -> list[str]:
    return [] if v is None or v == "" else [str(x) for x in (v if isinstance(v, list) else [v])]


def _num(v) -> float | None:
    try:
        return float(_first(v))
    except (TypeError, ValueError):
        return None


def _check(et, path: Path, doing: str) -> None:
    """exiftool's errors and non-minor warnings (a truncated packet would be rewritten short) fail the write."""
    err = (et.last_stderr or b"").decode("utf-8", "replace")
    bad = [ln for ln in err.splitlines()
           if ln.startswith("Error") or (ln.startswith("Warning") and "[minor]" not in ln)]
    if et.last_status not in (0, None) or bad:
        raise WriteError(path, f"{doing}: {'; '.join(bad) or f'exiftool exit status {et.last_status}'}")


def _raw_tags(et, path: Path, strict: bool = False) -> dict | None:
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


def _embedded_rating(et, photo: Path) -> float | None:
    """A non-zero star rating inside the photo itself (Lightroom embeds XMP in JPEGs; cameras rate into RAWs):
    with no rating in the sidecar, that one is the photographer's. 0 there means unrated."""
    try:
        out = et.execute("-j", "-fast", "-XMP-xmp:Rating", "-IFD0:Rating", os.fsencode(photo), raw_bytes=True)
        rec = json.loads(out.decode("utf-8", "replace") or "[{}]")[0]
    except (OSError, ValueError, IndexError, ExifToolException):
        return None  # an unreadable photo has no rating Keepers could keep
    stars = [_num(v) for k, v in rec.items() if k != "SourceFile"]
    return next((s for s in stars if s), None)


def _photo_xmp(et, photo: Path) -> tuple[dict, bytes | None, float | None]:
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
    exif_rating = _num(rec.pop("EXIF:Rating", None)) or None
    tags = {k.rpartition(":")[2]: v for k, v in rec.items() if k.startswith("XMP")}
    return tags, (packet or None), exif_rating


def _owned_keys(host, verdict: Verdict) -> list[str]:
    """The properties whose owner decides what Keepers may write: the rating and the host's labels."""
    return ["Rating", *(p.key for p in host.props(verdict))]


def _empty(v) -> bool:
    return v is None or v == "" or v == []


def read_sidecar(path: str | os.PathLike) -> dict:
    """Rating, label, keywords and every keepers:* field of a sidecar (defaults when it does not exist; ReadError
    when it is not XMP)."""
    path = Path(path)
    t = (_raw_tags(et_proc.get(), path) if path.exists() else None) or {}
    rating = _num(t.get("Rating"))
    return {
        "rating": None if rating is None else (int(rating) if rating.is_integer() else rating),
        "label": t.get("Label"), "keywords": _list(t.get("Subject")),
        "hierarchical": _list(t.get("HierarchicalSubject")),
        "score": _num(t.get("Score")), "verdict": t.get("Verdict"), "confidence": _num(t.get("Confidence")),
        "stars": None if _num(t.get("Stars")) is None else int(_num(t.get("Stars"))),
        "rating_set": None if _num(t.get("RatingSet")) is None else int(_num(t.get("RatingSet"))),
        "reasons": _list(t.get("Reasons")), "reason_codes": _list(t.get("ReasonCodes")),
        "keywords_added": _list(t.get("KeywordsAdded")), "group": t.get("Group"), "group_kind": t.get("GroupKind"),
        "pick": None if t.get("Pick") is None else str(t.get("Pick")).lower() == "true",
        "judged_by": t.get("JudgedBy"), "analyzers": _list(t.get("Analyzers")), "analyzed_at": t.get("AnalyzedAt"),
        "version": t.get("Version"), "host": t.get("Host"), "properties_set": _list(t.get("PropertiesSet")),
        "overruled": _list(t.get("Overruled")),
        "pick_label": None if _num(t.get("PickLabel")) is None else int(_num(t.get("PickLabel"))),
        "color_label": None if _num(t.get("ColorLabel")) is None else int(_num(t.get("ColorLabel"))),
        "tags_list": _list(t.get("TagsList")),
        "darktable_colorlabels": [int(x) for x in _list(t.get("DarktableColorLabels")) if x.lstrip("-").isdigit()],
        "darktable_xmp_version": t.get("DarktableXmpVersion"),
    }


def _reason_lines(verdict: Verdict) -> list[str]:
    """keepers:Reasons as `keepers show` lists them (core/judge/flaws.shown: what moved the score first, a keeper's
    flaws that cost nothing left out), each "code (points): message" (core/judge/texts.line): "noise (-2.8): visible
    grain in smooth areas". They were "code: message" worst first, every reason whatever it cost, the message
    repeating the code ("noise: Noise: ..."). A note reads as before ("low_key: Dark scene, ..."), so a reader of the
    old lines reads these too: the code is what comes before the first " (" or ":"; keepers:ReasonCodes still lists
    every reason's code, as --json does."""
    return [line(r) for r in shown(verdict.reasons, verdict.verdict == "good")]


def _clean(v) -> str:
    """One argfile line per value: exiftool reads its arguments line by line and trims them."""
    return " ".join(str(v).split())


SEP = "\x1f"  # between a list's items in one exiftool argument (-sep); never in a value: _clean makes it a space


def _items(values) -> str:
    """A list's values, cleaned, empty ones left out, as one argument's value."""
    return SEP.join(c for c in (_clean(v) for v in values if v is not None) if c)


def _paths(keywords: list[str]) -> list[str]:
    out: list[str] = []
    for k in keywords:
        parts = [_clean(p) for p in str(k).split("|") if _clean(p)]
        if parts and parts[0] == ROOT:
            parts = parts[1:]
        p = "|".join([ROOT, *parts])
        if parts and p not in out:
            out.append(p)
    return out


def _merge(current: list[str], want: list[str], ours_before: list[str]):
    """(to remove, to add, ours now) for one keyword list: add what is missing (case-insensitively), remove what
    Keepers added before and no longer predicts, leave everything else alone."""
    have = {c.casefold() for c in current}
    remove = [k for k in ours_before if k not in want and k in current]
    add = [k for k in want if k.casefold() not in have]
    ours = [k for k in want if (k in ours_before and k in current) or k in add]
    return remove, add, ours


def _props(old: dict, props, overruled: set[str], carry: bool = True) -> tuple[list[str], list[str]]:
    """(exiftool arguments, keepers:PropertiesSet entries) for the adapter's labels: each is set where there is
    none or it is still the value Keepers set last, and removed only when it is Keepers' and no longer wanted.
    A label Keepers set that is now another or gone was the photographer's doing: its name joins `overruled`,
    and an overruled label is never written again (a removed label does not come back on the next cull)."""
    prev = dict(e.split("=", 1) for e in _list(old.get("PropertiesSet")) if "=" in e)
    args: list[str] = []
    held: dict[str, str] = {}
    for p in props:
        last, want = prev.get(p.name), p.value
        if p.name in overruled:
            continue
        if p.member:  # Keepers owns one entry of a list (darktable:colorlabels)
            current = _list(old.get(p.key))
            if last is not None and last not in current:
                overruled.add(p.name)  # the photographer took Keepers' entry out
                continue
            if last is not None and last != want:
                args.append(f"-{p.tag}-={last}")
            if want is not None and (want not in current or last == want):
                if want not in current:
                    args.append(f"-{p.tag}+={want}")
                held[p.name] = want
            continue
        cur = old.get(p.key)
        cur = None if cur is None or cur == "" or cur == [] else str(_first(cur))
        if cur != last and (cur is not None or last is not None):
            overruled.add(p.name)  # set by the photographer (or another program), or Keepers' changed or removed
            continue
        if want is None:
            if cur is not None:
                args.append(f"-{p.tag}=")
        else:
            if cur != want:
                args.append(f"-{p.tag}={want}")
            held[p.name] = want
    if carry:  # labels another host's run set stay Keepers' to change
        managed = {p.name for p in props}
        held.update({k: v for k, v in prev.items() if k not in managed})
    return args, [f"{k}={v}" for k, v in held.items()]


def _now() -> str:
    d = datetime.now().astimezone()
    off = d.strftime("%z")
    return d.strftime("%Y:%m:%d %H:%M:%S") + f"{off[:3]}:{off[3:]}"


def _check_writable(sidecar: Path, exists: bool, what: str = "sidecar") -> None:
    """Refuse, before anything is written, what the photographer made read-only: also as root, who could.
    `what`: the file's role in the messages (a sidecar, or a photo --embed writes)."""
    folder = sidecar.parent
    if not folder.is_dir():
        raise WriteError(sidecar, f"folder {folder} does not exist")
    if exists:
        st = sidecar.stat()
        if not sidecar.is_file():
            raise WriteError(sidecar, f"the {what} path is not a regular file")
        if not st.st_mode & 0o222 or not os.access(sidecar, os.W_OK):
            raise WriteError(sidecar, f"the {what} is read-only; Keepers leaves it as it is")
    # Windows: a folder's read-only attribute (its st_mode without write bits) does not stop files being written in
    # it, and Explorer sets it on customised folders such as Pictures; the write itself reports a refusal
    if not WINDOWS and (not folder.stat().st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK)):
        raise WriteError(sidecar, f"folder {folder} is read-only (a {what} is replaced through a temp file there)")


def _temp_name(path: Path) -> Path:
    """A temp file beside `path`: .<name>.keepers-<pid>-<random>.tmp (keepers.core.io.naming.TMP)."""
    return path.with_name(f".{path.name}{TMP}{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _keep_mode(fd: int, tmp: Path, st) -> None:
    """The replaced file's permissions and, where allowed, owner, onto the temp file (open as `fd`). Windows has no
    fchmod, fchown nor getuid: chmod by name (only the read-only attribute means anything there), no owner."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, st.st_mode & 0o7777)
    else:
        os.chmod(tmp, st.st_mode & 0o7777)
    if hasattr(os, "fchown") and hasattr(os, "getuid") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            pass


def _rename_over(tmp: Path, target: Path) -> None:
    """os.replace, atomic on POSIX and on Windows (MoveFileEx). On Windows it fails while another program (a DAM
    reading the sidecar, an antivirus scanning a new file) holds the target open: tried again for a few seconds."""
    for i in range(_REPLACE_TRIES):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if not WINDOWS or i == _REPLACE_TRIES - 1:
                raise
            time.sleep(0.02 * 2 ** i)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _replace(sidecar: Path, data: bytes) -> None:
    """Write `data` to a temp file beside the sidecar, fsync it and rename it over the sidecar (atomic)."""
    st = sidecar.stat() if sidecar.exists() else None
    tmp = _temp_name(sidecar)
    try:
        # O_BINARY: on Windows os.open is in text mode otherwise, and every \n would be written as \r\n
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o666 if st is None else st.st_mode & 0o7777)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if st is not None:  # keep the sidecar's permissions and, where allowed, its owner
                _keep_mode(fd, tmp, st)
            os.fsync(fd)
        finally:
            os.close(fd)
        _rename_over(tmp, sidecar)
    except OSError as e:
        _unlink(tmp)
        raise WriteError(sidecar, e.strerror or str(e)) from e
    except BaseException:  # interrupted: leave no temp file behind
        _unlink(tmp)
        raise


STALE_AFTER_S = 3600  # Windows: a temp file this old is a killed run's (no process may be probed there, below)


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` runs. POSIX: signal 0 probes it. On Windows os.kill(pid, 0) would *terminate* that
    process (TerminateProcess with exit code 0), so it is never called there: see _remove_stale_temps."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _remove_stale_temps(sidecar: Path, names: FolderNames | None = None) -> None:
    """Temp files of a Keepers process that was killed between write and rename. `names`: the folder's, if kept.
    POSIX: those whose process is gone. Windows: those older than STALE_AFTER_S (a process id is not probed)."""
    names = names if names is not None else FolderNames(sidecar.parent)
    prefix = f".{sidecar.name}{TMP}"
    for n in list(names.temps.get(sidecar.name, ())):
        path = sidecar.parent / n
        try:
            pid = int(n[len(prefix):].split("-")[0])
            if WINDOWS:
                stale = time.time() - path.stat().st_mtime > STALE_AFTER_S
            else:
                stale = pid != os.getpid() and not _pid_alive(pid)
        except (ValueError, OSError):
            continue
        if stale:
            try:
                os.unlink(path)
                names.discard(n)
            except OSError:
                pass


class SidecarWriter:
    """Writes verdicts into sidecars through this thread's exiftool -stay_open process.

    A new sidecar costs one exiftool command; an update two (read the current rating and keywords, then write),
    because what is written depends on what is there. The write always comes from exiftool's `-o -`, so exiftool
    never modifies a file in place: Python writes the temp file and renames it.
    """

    def __init__(self, cache_folders: bool = False):
        # a batch (one run's write-back) reads each folder once; a writer kept longer must see files others add
        self._folders: dict[Path, FolderNames] | None = {} if cache_folders else None
        self._lock = threading.Lock()

    def folder_names(self, folder: Path) -> FolderNames:
        """The folder's names: listed now, or, in a batch, once for the whole batch."""
        if self._folders is None:
            return FolderNames(folder)
        with self._lock:
            if folder not in self._folders:
                self._folders[folder] = FolderNames(folder)
            return self._folders[folder]

    def sidecar(self, photo_file, host) -> tuple[Path, Path, FolderNames]:
        """(photo as an absolute path, its one sidecar under `host`'s naming, the photo folder's names)."""
        photo = Path(os.path.abspath(photo_file))
        names = self.folder_names(photo.parent)
        return photo, host.sidecar(photo, names), names

    def __enter__(self) -> "SidecarWriter":
        et_proc.get()  # start it now, not inside the first write
        return self

    def __exit__(self, *exc) -> None:
        pass  # the process is this thread's, shared with readers, and stays for the next user

    def _plan(self, old: dict, verdict: Verdict, overwrite_ratings: bool, embedded: float | None, host) -> dict:
        cur, was_set = _num(old.get("Rating")), _num(old.get("RatingSet"))
        if cur is not None and host.rating_unset(old):  # a host's placeholder (darktable's import rating)
            cur = None
        value = host.rating(verdict)
        overruled = set(_list(old.get("Overruled")))
        if cur != was_set and (cur is not None or was_set is not None):
            overruled.add("xmp:Rating")  # set by the photographer, or Keepers' changed or removed: theirs for good
        if overwrite_ratings:
            overruled.discard("xmp:Rating")
        rating = overwrite_ratings or ("xmp:Rating" not in overruled and (cur is None and embedded is None
                                                                           or cur is not None and cur == was_set))
        paths = _paths(verdict.keywords)
        before = _list(old.get("KeywordsAdded"))
        lists, added, removed, ours, copied = [], [], [], [], []
        for kl in host.keyword_lists(paths, old, before):
            current = _list(old.get(kl.key))
            have = {c.casefold() for c in current}
            mine_before = [k for k in before if kl.mine(k)]
            # a keyword Keepers added that is gone from the list was deleted by the photographer: never added again
            overruled.update(k for k in mine_before if k.casefold() not in have)
            declined = {o.casefold() for o in overruled}
            rm, add, mine = _merge(current, [k for k in kl.want if k.casefold() not in declined], mine_before)
            have = {c.casefold() for c in current + add}
            seeds = [k for k in dict.fromkeys(kl.seed) if k.casefold() not in have]
            lists.append((kl.tag, rm, seeds + add))  # the photographer's first, as in any list they had
            added, removed, ours, copied = added + add, removed + rm, ours + mine, copied + seeds
        # a rating the photographer changed or removed is theirs from now on: forget that Keepers once set one
        rating_set = value if rating else (None if cur is not None or "xmp:Rating" in overruled else was_set)
        prop_args, props_set = _props(old, host.props(verdict), overruled)
        return dict(rating=rating, value=value, rating_set=rating_set, lists=lists, added=added, removed=removed,
                    ours=ours, copied=copied, prop_args=prop_args, props_set=props_set, overruled=sorted(overruled))

    def _assignments(self, p: dict, verdict: Verdict, analyzers: dict[str, str], host, extra: dict | None) -> list:
        """The exiftool arguments that write a plan (rating, labels, keyword lists, keepers:*) into a packet."""
        ours = {
            "Score": round(float(verdict.score), 2), "Verdict": verdict.verdict,
            "Confidence": round(float(verdict.confidence), 3), "Stars": int(verdict.stars),
            "RatingSet": p["rating_set"],
            "Reasons": _reason_lines(verdict),
            "ReasonCodes": list(dict.fromkeys(r.code for r in verdict.reasons)), "KeywordsAdded": p["ours"],
            "Group": verdict.group, "Pick": "True" if verdict.pick else "False", "JudgedBy": verdict.judged_by,
            "Analyzers": [f"{k}={v}" for k, v in sorted(analyzers.items())], "AnalyzedAt": _now(),
            "Version": __version__, "Host": host.name, "PropertiesSet": p["props_set"], "Overruled": p["overruled"],
            **(extra or {}),
        }
        # a list's items go in one argument, split by exiftool at SEP: each assignment costs exiftool a tag lookup,
        # and one per item made a new sidecar 3.6-5.0 ms of its time instead of 2.3-3.2 (the same bytes written)
        args = ["-XMP-keepers:all="]  # our old values go, all
        if p["rating"]:
            args.append(f"-XMP-xmp:Rating={int(p['value'])}")
        args += p["prop_args"]
        assign = [(f"-{tag}-", rm) for tag, rm, _ in p["lists"]] + [(f"-{tag}+", add) for tag, _, add in p["lists"]]
        assign += [(f"-XMP-keepers:{k}", v if isinstance(v, (list, tuple)) else [v]) for k, v in ours.items()]
        return args + [f"{tag}={joined}" for tag, values in assign if (joined := _items(values))]

    def _run(self, et, args: list, path: Path, doing: str) -> bytes:
        try:
            # UTF-8 whatever the locale: exiftool reads values as UTF-8 (its default charset)
            out = et.execute(*[a.encode() if isinstance(a, str) else a for a in args], raw_bytes=True)
        except (OSError, ExifToolException) as e:
            raise WriteError(path, f"exiftool failed: {e}") from e
        _check(et, path, doing)
        return out

    def write(self, photo_file, verdict: Verdict, *, analyzers: dict[str, str], dry_run: bool = False,
              overwrite_ratings: bool = False, extra: dict | None = None,
              host=None, embedded_rating: float | None = None, embedded_xmp: bool | None = None) -> WriteResult:
        """Write the verdict into the photo's sidecar (created if none); on failure raise WriteError, changing nothing.

        `host`: a keepers.core.io.hosts.HostAdapter deciding sidecar name, rating value, labels and keyword lists
        (default: the generic adapter).

        A new sidecar starts from the photo's own XMP packet (less develop settings: _NOT_SEEDED), so what the
        photographer set there (rating, labels, keywords) is in it and decides, as in any sidecar, what Keepers may
        write. In an existing sidecar, a label or rating it lacks but the photo carries is the photographer's too.
        xmp:Rating = the host's value for verdict.stars (-1 = reject; digiKam 0) only where no rating is set (in the
        sidecar, nor a non-zero one in the photo itself; a host's placeholder counts as none) or the rating is the one
        Keepers set last (keepers:RatingSet), unless `overwrite_ratings`.
        Refuses a read-only sidecar or folder even as root.
        `embedded_rating`: the photo's own rating as the loader read it (0 = none; None = not known: exiftool reads it).
        `embedded_xmp`: whether the photo has an XMP packet, as the loader saw (None = not known: exiftool looks);
        False spares the exiftool command that reads it.
        `extra`: further keepers:* values (e.g. {"GroupKind": "burst"}). `dry_run`: read, plan, return the result,
        write nothing (a write that would fail still raises).
        """
        if host is None:
            from keepers.core.io.hosts import GenericAdapter

            host = GenericAdapter()
        photo, sidecar, names = self.sidecar(photo_file, host)
        if not photo.is_file():
            raise WriteError(photo, "photo not found")
        target = Path(os.path.realpath(sidecar))  # through a symlinked sidecar, not over the link
        if any(c in str(f) for f in (photo, target) for c in "\r\n"):
            raise WriteError(sidecar, "file names with line breaks cannot be passed to exiftool")
        try:
            exists = target.exists()
            _check_writable(target, exists)
            et = et_proc.get()  # a fresh one if the last died
            try:
                old = _raw_tags(et, target, strict=True) if exists else None  # None: write a new packet
            except ReadError:
                # a long-running exiftool can carry what it parsed from one file's structures over to the next
                # (seen with darktable:history after darktable sidecars): judge the file, and write it, with a
                # fresh process; only a file that a fresh exiftool cannot read either is refused
                et = et_proc.restart()
                old = _raw_tags(et, target, strict=True)
            theirs, packet, exif_rating, looked = {}, None, None, False
            if embedded_xmp is not False and (old is None or any(_empty(old.get(k))
                                                                  for k in _owned_keys(host, verdict))):
                try:
                    theirs, packet, exif_rating = _photo_xmp(et, photo)
                    looked = True
                except ReadError as e:  # the photo was judged from what could be read: its XMP counts as none
                    log.debug("%s", e)
            if old is None:
                plan_old = dict(theirs)  # the new sidecar is the photo's packet, with Keepers' changes
            else:  # the sidecar's own, and the photo's labels where the sidecar has none (its rating: below)
                plan_old = dict(old)
                for k in _owned_keys(host, verdict)[1:]:
                    if _empty(old.get(k)) and not _empty(theirs.get(k)):
                        plan_old[k] = theirs[k]
            embedded = None
            if not overwrite_ratings and (_num(plan_old.get("Rating")) is None or host.rating_unset(plan_old)):
                if looked:
                    stars = (None if old is None else _num(theirs.get("Rating")), exif_rating)
                    embedded = next((s for s in stars if s), None)
                else:
                    embedded = _embedded_rating(et, photo) if embedded_rating is None else (embedded_rating or None)
        except ReadError as e:
            raise WriteError(sidecar, f"the existing sidecar is unreadable, left as it is: {e.reason}") from e
        except (OSError, ExifToolException) as e:
            raise WriteError(sidecar, str(e)) from e
        p = self._plan(plan_old, verdict, overwrite_ratings, embedded, host)
        result = WriteResult(sidecar, not exists, p["rating"], p["added"], dry_run, p["removed"], p["copied"],
                             p["props_set"])
        if dry_run:
            return result
        args = self._assignments(p, verdict, analyzers, host, extra)
        if not exists and sidecar.name.casefold() == (photo.stem + ".xmp").casefold():
            args.append(f"-XMP-photoshop:SidecarForExtension={photo.suffix[1:].upper()}")  # as Lightroom does
        seed, fresh = None, args
        if old is None and packet is not None:
            seed = _temp_name(target)
            args = [*_NOT_SEEDED, *_without_darktable(args, packet, plan_old), os.fsencode(seed)]
        elif old is not None:
            args = [*args, os.fsencode(target)]
        out = "-.xmp" if old is None and seed is None else "-"
        here = names if target.parent == photo.parent else None  # the listing holds the target's folder
        try:
            if seed is not None:
                try:
                    with open(seed, "xb") as f:
                        f.write(packet)
                except OSError as e:
                    raise WriteError(sidecar, e.strerror or str(e)) from e
            doing = "exiftool could not write the sidecar"
            try:
                data = self._run(et, ["-sep", SEP, "-o", out, *args], sidecar, doing)
            except WriteError as e:
                if seed is None:
                    raise
                # a packet exiftool reads but will not rewrite: the sidecar holds Keepers' values only, which were
                # planned around the photo's (nothing of theirs is contradicted; it stays inside the photo)
                log.info("%s: the photo's own XMP not copied into its new sidecar: %s", photo, e.reason)
                data = self._run(et, ["-sep", SEP, "-o", "-.xmp", *fresh], sidecar, doing)
            check_packet(data, sidecar)
            _remove_stale_temps(target, here)
            _replace(target, data)
        finally:
            if seed is not None:
                _unlink(seed)
        if here is not None:
            here.add(target.name)  # the batch's later photos see the sidecar just made
        return result

    def embed(self, photo_file, verdict: Verdict, *, analyzers: dict[str, str], dry_run: bool = False,
              overwrite_ratings: bool = False, extra: dict | None = None, host=None,
              keep_original: bool = False) -> WriteResult:
        """Write the verdict into the photo's own XMP, for a host that reads no sidecar for it (Lightroom: JPEG,
        TIFF, PSD, PNG, DNG), under a sidecar's rules (what the photographer set stays). The exiftool way: exiftool
        writes the photo with its new XMP to a temp file beside it, keeping everything else in the file; that is
        fsynced and renamed over the photo, so the photo is always either the old file or the new one.
        `keep_original`: the photo as it was stays as `<name>_original` (exiftool's name; an existing one is kept).
        WriteError, changing nothing, where it cannot be written."""
        if host is None:
            from keepers.core.io.hosts import GenericAdapter

            host = GenericAdapter()
        photo = Path(os.path.abspath(photo_file))
        if not photo.is_file():
            raise WriteError(photo, "photo not found")
        target = Path(os.path.realpath(photo))  # a symlinked photo stays a link to the file written
        if any(c in str(target) for c in "\r\n"):
            raise WriteError(photo, "file names with line breaks cannot be passed to exiftool")
        _check_writable(target, True, "photo")
        try:
            et = et_proc.get()
            old, _, exif_rating = _photo_xmp(et, target)
        except ReadError as e:
            raise WriteError(photo, f"cannot read the photo's metadata: {e.reason}") from e
        embedded = None
        if not overwrite_ratings and (_num(old.get("Rating")) is None or host.rating_unset(old)):
            embedded = exif_rating
        p = self._plan(old, verdict, overwrite_ratings, embedded, host)
        result = WriteResult(photo, False, p["rating"], p["added"], dry_run, p["removed"], p["copied"],
                             p["props_set"])
        if dry_run:
            return result
        tmp = _temp_name(target)
        args = ["-sep", SEP, "-o", os.fsencode(tmp), *self._assignments(p, verdict, analyzers, host, extra),
                os.fsencode(target)]
        try:
            _remove_stale_temps(target, self.folder_names(target.parent))
            self._run(et, args, photo, "exiftool could not write the photo")
            install(tmp, target, keep_original)
        except OSError as e:
            _unlink(tmp)
            raise WriteError(photo, e.strerror or str(e)) from e
        except BaseException:
            _unlink(tmp)
            raise
        return result


def check_packet(data: bytes, sidecar) -> None:
    """WriteError unless `data` (exiftool's new sidecar) holds one whole XMP packet: a sidecar is never replaced with
    something that is not."""
    start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
    try:
        ElementTree.fromstring(data[start:end + 12] if 0 <= start < end else b"")
    except ElementTree.ParseError as e:
        raise WriteError(sidecar, f"exiftool returned no valid XMP packet ({e})") from e


def install(tmp: Path, target: Path, keep_original: bool) -> None:
    """exiftool's rewrite of a photo (`tmp`, beside it) put in its place: the photo's mode kept, the bytes on disk
    before the rename (a crash leaves the old photo or the new, never half of one), the original kept as
    `<name>_original` where asked. The caller removes `tmp` if this raises."""
    st = target.stat()
    fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        _keep_mode(fd, tmp, st)
        os.fsync(fd)
    finally:
        os.close(fd)
    if keep_original:
        _keep_original(target)
    _rename_over(tmp, target)


def _keep_original(photo: Path) -> None:
    """`photo` as it is now, as `<name>_original` beside it (exiftool's convention), unless one is there: a hard
    link where the file system has them (no copy of a large file), else a copy."""
    orig = photo.with_name(photo.name + "_original")
    if os.path.lexists(orig):
        return
    try:
        os.link(photo, orig)
    except OSError:
        shutil.copy2(photo, orig)


def _without_darktable(args: list, packet: bytes, old: dict) -> list:
    """A new sidecar copied from a photo darktable exported: its darktable:* data (history, xmp_version...) goes,
    its colour labels stay (and Keepers' entry changes as planned)."""
    if _DARKTABLE_NS not in packet:
        return args
    labels = _list(old.get("DarktableColorLabels"))
    rest = []
    for a in args:
        if a.startswith(f"-{_DT_LABELS}-="):
            labels = [x for x in labels if x != a.split("=", 1)[1]]
        elif a.startswith(f"-{_DT_LABELS}+="):
            labels.append(a.split("=", 1)[1])
        else:
            rest.append(a)
    return ["-XMP-darktable:all=", *rest] + ([f"-{_DT_LABELS}={SEP.join(labels)}"] if labels else [])
