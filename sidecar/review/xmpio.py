"""The few XMP values the review page reads and writes: reading thousands of sidecars' rating and label at start
(parsed here: exiftool took 30-60 s for 5,000 sidecars on a busy 2-core machine), and writing a choice into a
sidecar or into the photo itself, atomically, everything else kept (exiftool, as core/io/xmp.py writes)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

from keepers.core.errors import WriteError

XMP = "{http://ns.adobe.com/xap/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def _value(desc, name: str) -> str | None:
    """A simple property of an rdf:Description, as an attribute or as an element."""
    v = desc.get(XMP + name)
    if v is None:
        e = desc.find(XMP + name)
        v = None if e is None else (e.text or "").strip()
    return v or None


def read_one(path: Path) -> dict:
    """{'rating': float | None, 'label': str | None} of one sidecar; {} when missing, None when unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
    try:
        root = ElementTree.fromstring(data[start:end + 12] if 0 <= start < end else data)
    except ElementTree.ParseError:
        return None
    out: dict = {}
    for desc in root.iter(RDF + "Description"):
        for key, name in (("rating", "Rating"), ("label", "Label")):
            v = _value(desc, name)
            if v is not None and key not in out:
                out[key] = v
    try:
        out["rating"] = float(out["rating"]) if "rating" in out else None
    except ValueError:
        out["rating"] = None
    return out


def read_many(paths: list[Path]) -> dict[Path, dict]:
    """Rating and label of each sidecar; what Python cannot parse is asked of exiftool."""
    out, odd = {}, []
    for p in paths:
        got = read_one(p)
        if got is None:
            odd.append(p)
        elif got:
            out[p] = got
    if odd:
        from keepers.core.io import exiftool as et_proc

        et = et_proc.get()
        for i in range(0, len(odd), 500):
            text = et.execute("-j", "-n", "-XMP-xmp:Rating", "-XMP-xmp:Label", *map(os.fsencode, odd[i:i + 500]),
                              raw_bytes=True).decode("utf-8", "replace")
            for rec in json.loads(text or "[]"):
                out[Path(rec["SourceFile"])] = {"rating": rec.get("Rating"), "label": rec.get("Label")}
    return out


def _assign(tag: str, value) -> list[str]:
    if value is None or value == [] or value == "":
        return [f"-{tag}="]
    if isinstance(value, list):
        # "-T=a -T=b" replaces a list with [a, b]; "-T= -T+=a" keeps the old entries and adds a (exiftool 12.57):
        # keepers:Overruled grew by a copy of itself at every change, and an undo left the entries it took back
        return [f"-{tag}={v}" for v in value]
    return [f"-{tag}={value}"]


def write(target: Path, want: dict, *, drop_properties: list[str] = (), embedded: bool = False,
          keep_original: bool = False) -> dict:
    """Set `want` ({exiftool tag: value, a list or None to remove}) in `target` (a sidecar, or with `embedded` the
    photo's own XMP), and take the properties named in `drop_properties` out of keepers:PropertiesSet and into
    keepers:Overruled (they are the photographer's now: a later cull never sets them again, core/io/xmp.py).
    Returns each tag as it was (keepers:PropertiesSet and Overruled included), to write back for an undo.
    WriteError, changing nothing, where it cannot be written."""
    from keepers.core.io import exiftool as et_proc
    from keepers.core.io.xmp import as_list, check_packet, replace
    from keepers.core.io.xmp_files import rewrite

    et = et_proc.get()
    tags = list(dict.fromkeys([*want, "XMP-keepers:PropertiesSet", "XMP-keepers:Overruled"]))
    rec = json.loads(et.execute("-j", *[f"-{t}" for t in tags], os.fsencode(target), raw_bytes=True) or b"[{}]")[0]
    named = {k.rpartition(":")[2]: v for k, v in rec.items()}  # "XMP:Rating": the process runs with -G -n
    was = {t: named.get(t.rpartition(":")[2]) for t in tags}
    want = dict(want)
    if drop_properties:
        held, overruled = as_list(was["XMP-keepers:PropertiesSet"]), as_list(was["XMP-keepers:Overruled"])
        want["XMP-keepers:PropertiesSet"] = [e for e in held if e.split("=", 1)[0] not in drop_properties]
        want["XMP-keepers:Overruled"] = sorted({*overruled, *drop_properties})
    args = [a for t, v in want.items() for a in _assign(t, v)]
    if not embedded:
        data = et.execute("-o", "-", *args, os.fsencode(target), raw_bytes=True)
        check_packet(data, target)
        replace(target, data)
        return was
    def write_copy(tmp: Path) -> None:  # the photo itself: a whole new file beside it, fsynced, renamed over it
        et.execute("-o", os.fsencode(tmp), *args, os.fsencode(target), raw_bytes=True)
        if not tmp.exists():
            raise WriteError(target, "exiftool could not write the photo")

    rewrite(target, write_copy, keep_original)
    return was
