"""A new sidecar's bytes as exiftool writes them, without the exiftool round trip.

A photo with no sidecar and no XMP packet of its own gets a sidecar that exiftool builds from Keepers' assignments
alone (`exiftool -o -.xmp -TAG=VALUE...`): its bytes depend on nothing but those assignments and exiftool's version.
That round trip cost a cull 4-5 ms of exiftool's CPU a photo, plus 0.2 s to start each writer's exiftool, and on
2 cores the writes after the last photo were a serial tail (docs/benchmarks.md, session 16). `render` writes the
same bytes in Python for the properties Keepers sets (WriteXMP.pl's layout: one rdf:Description per namespace,
properties sorted by path, list items in order, values escaped by EscapeXML), and answers None for anything it
does not know, which then goes to exiftool as before. Updating an existing sidecar, seeding one from the photo's
own XMP, and writing into a photo stay exiftool's.

Nothing is rendered unless exiftool itself has just shown, in this process, that it writes the same bytes: `probe`
has this thread's exiftool write a sidecar of every kind of value rendered here and compares (`ready`). Another
exiftool version, one that lays packets out otherwise, or none at all, and every sidecar is exiftool's again.
"""

from __future__ import annotations

import logging
import re
import threading

log = logging.getLogger(__name__)

SEP = "\x1f"  # as keepers.core.io.xmp.SEP: a list's items in one assignment (exiftool's -sep)

_NS = {"dc": "http://purl.org/dc/elements/1.1/", "digiKam": "http://www.digikam.org/ns/1.0/",
       "darktable": "http://darktable.sf.net/", "keepers": "http://ns.keepers.photo/xmp/1.0/",
       "lr": "http://ns.adobe.com/lightroom/1.0/", "photoshop": "http://ns.adobe.com/photoshop/1.0/",
       "xmp": "http://ns.adobe.com/xap/1.0/"}
# exiftool tag -> (property, list type or "", how a value is checked); from exiftool's tables (XMP.pm, XMP2.pl)
# and core/io/exiftool_config.pl
_S, _R, _I, _B, _D = "string", "real", "integer", "boolean", "date"
_TAGS = {
    "XMP-xmp:Rating": ("xmp:Rating", "", _R), "XMP-xmp:Label": ("xmp:Label", "", _S),
    "XMP-dc:Subject": ("dc:subject", "Bag", _S), "XMP-lr:HierarchicalSubject": ("lr:hierarchicalSubject", "Bag", _S),
    "XMP-digiKam:TagsList": ("digiKam:TagsList", "Seq", _S), "XMP-digiKam:PickLabel": ("digiKam:PickLabel", "", _S),
    "XMP-digiKam:ColorLabel": ("digiKam:ColorLabel", "", _S),
    "XMP-darktable:DarktableColorLabels": ("darktable:colorlabels", "Seq", _I),
    "XMP-darktable:DarktableXmpVersion": ("darktable:xmp_version", "", _I),
    "XMP-photoshop:SidecarForExtension": ("photoshop:SidecarForExtension", "", _S),
    **{f"XMP-keepers:{name}": (f"keepers:{name}", kind, check) for name, kind, check in (
        ("Score", "", _R), ("Verdict", "", _S), ("Confidence", "", _R), ("Stars", "", _I), ("RatingSet", "", _I),
        ("Reasons", "Seq", _S), ("ReasonCodes", "Bag", _S), ("KeywordsAdded", "Bag", _S), ("Group", "", _S),
        ("GroupKind", "", _S), ("Pick", "", _B), ("JudgedBy", "", _S), ("Analyzers", "Bag", _S),
        ("AnalyzedAt", "", _D), ("Version", "", _S), ("PropertiesSet", "Bag", _S), ("Overruled", "Bag", _S),
        ("Host", "", _S), ("Timeline", "Seq", _S))},
}
# values exactly as exiftool keeps them unchanged (ExifTool.pm IsFloat, IsInt; WriteXMP.pl FormatXMPDate): any
# other value (one exiftool would convert, refuse or warn about) is left to exiftool
_OK = {_R: re.compile(r"[+-]?(?=\d|\.\d)\d*(\.\d*)?([Ee][+-]?\d+)?", re.A), _I: re.compile(r"[+-]?\d+", re.A),
       _B: re.compile(r"True|False"),
       _D: re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2}|Z)", re.A)}
_ESCAPE = str.maketrans({"&": "&amp;", ">": "&gt;", "<": "&lt;", "'": "&#39;", '"': "&quot;"})
_BAD = re.compile(r"[\x00-\x1f\x7f]|^\s|\s$")  # exiftool would change these (control characters, trimmed ends)


def _assignment(arg: str):
    """(tag, values) of `-TAG=V1<SEP>V2` or `-TAG+=...`; (tag, None) of a removal that is a no-op in a new packet
    (`-TAG=`, `-TAG-=...`, `-XMP-keepers:all=`); None for anything else."""
    m = re.fullmatch(r"-([\w-]+:\w+)([+-]?)=(.*)", arg, re.S)
    if m is None:
        return None
    tag, op, value = m.groups()
    if op == "-" or (op == "" and value == ""):
        return (tag, None) if tag in _TAGS or tag == "XMP-keepers:all" else None
    if tag not in _TAGS or (op == "+" and not _TAGS[tag][1]):
        return None
    return tag, value.split(SEP) if _TAGS[tag][1] else [value]


def render(args: list[str], toolkit: str) -> bytes | None:
    """The sidecar exiftool (x:xmptk `toolkit`) writes for `exiftool -sep SEP -o -.xmp *args`, or None where this
    module cannot be sure of exiftool's answer (an assignment or value it does not know)."""
    props: dict[str, str] = {}  # capture path -> escaped value, as WriteXMP.pl's %capture
    seen: set[str] = set()
    for arg in args:
        a = _assignment(arg) if isinstance(arg, str) else None
        if a is None:
            return None
        tag, values = a
        if values is None:
            continue
        if tag in seen:  # set twice: exiftool's rules for that are not rendered here
            return None
        seen.add(tag)
        prop, kind, check = _TAGS[tag]
        for i, v in enumerate(values):
            if not v or _BAD.search(v) or (check in _OK and not _OK[check].fullmatch(v)):
                return None
            if check == _D:
                d = _OK[_D].fullmatch(v)
                v = f"{d[1]}-{d[2]}-{d[3]}T{d[4]}{d[5]}"
            # list items are numbered as WriteXMP.pl numbers them (length, then digits: 10..19, 210..299) so
            # that sorting the paths keeps their order
            n = str(10 + i)
            props[f"{prop}/rdf:{kind}/rdf:li {len(n) - 1}{n}" if kind else prop] = v.translate(_ESCAPE)
    out = ["<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n",
           f"<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='{toolkit.translate(_ESCAPE)}'>\n",
           "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"]
    ns = None
    open_list = None
    for path in sorted(props):
        prefix = path.split(":", 1)[0]
        prop, _, item = path.partition("/")
        if open_list and open_list[0] != prop:
            out.append(f"   </rdf:{open_list[1]}>\n  </{open_list[0]}>\n")
            open_list = None
        if prefix != ns:
            if ns is not None:
                out.append(" </rdf:Description>\n")
            out.append(f"\n <rdf:Description rdf:about=''\n  xmlns:{prefix}='{_NS[prefix]}'>\n")
            ns = prefix
        if item:
            if open_list is None:
                kind = item.split("/")[0][4:]
                out.append(f"  <{prop}>\n   <rdf:{kind}>\n")
                open_list = (prop, kind)
            out.append(f"    <rdf:li>{props[path]}</rdf:li>\n")
        else:
            out.append(f"  <{prop}>{props[path]}</{prop}>\n")
    if open_list:
        out.append(f"   </rdf:{open_list[1]}>\n  </{open_list[0]}>\n")
    if ns is not None:
        out.append(" </rdf:Description>\n")
    out.append("</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end='w'?>")
    return "".join(out).encode()


# every kind of value and list `render` writes, with the characters it escapes and some it does not
PROBE = ["-XMP-keepers:all=", "-XMP-xmp:Rating=-1", "-XMP-xmp:Label=Red", "-XMP-digiKam:PickLabel=3",
         "-XMP-digiKam:ColorLabel=1", "-XMP-darktable:DarktableColorLabels+=0",
         "-XMP-dc:Subject-=x", f"-XMP-dc:Subject+=bird{SEP}café & <tea>", "-XMP-lr:HierarchicalSubject+=Keepers|a|b",
         f"-XMP-digiKam:TagsList+=Keepers/a{SEP}Keepers/b", "-XMP-keepers:Score=7.25", "-XMP-keepers:Verdict=good",
         "-XMP-keepers:Confidence=0.5", "-XMP-keepers:Stars=3", "-XMP-keepers:RatingSet=-1",
         *(f"-XMP-keepers:{k}=" + SEP.join(f"{k}{i} \"it's\" ü" for i in range(11)) for k in ("Reasons", "Overruled")),
         "-XMP-keepers:Pick=False", "-XMP-keepers:AnalyzedAt=2026:12:07 00:10:05+01:00",
         "-XMP-photoshop:SidecarForExtension=CR2"]

_state: dict[str, str | None] = {}
_lock = threading.Lock()


def ready() -> str | None:
    """exiftool's toolkit name where `render` writes what it writes (probed once in this process), else None."""
    with _lock:
        if "toolkit" not in _state:
            _state["toolkit"] = _probe()
        return _state["toolkit"]


def probe() -> None:
    """`ready`, for a run's writer pool to call while the photos are analysed: it starts this thread's exiftool
    (as keepers.core.io.exiftool.warm does) and has it write the probe. Quiet when it cannot: a write says why."""
    try:
        ready()
    except Exception as e:
        log.debug("exiftool probe failed: %s", e)


def _probe() -> str | None:
    from keepers.core.io import exiftool as et_proc

    try:
        et = et_proc.get()
        out = et.execute(*[a.encode() for a in ("-sep", SEP, "-o", "-.xmp", *PROBE)], raw_bytes=True)
    except Exception as e:  # no exiftool, or it failed: every write goes to exiftool, which reports it
        log.debug("exiftool probe failed: %s", e)
        return None
    m = re.search(rb"x:xmptk='([^']*)'", out or b"")
    toolkit = m[1].decode("utf-8", "replace") if m else None
    if et.last_status not in (0, None) or toolkit is None or render(PROBE, toolkit) != out:
        log.debug("exiftool writes new sidecars otherwise than keepers.core.io.xmpnew: it writes them all")
        return None
    return toolkit
