"""A culled shoot read back from the catalog in a few bulk queries, for `keepers review` to start in seconds.

Culling 5,000 photos that are all in the catalog still took 23 s (regrouping 10 s, reading each photo's findings
6 s, judging again, checking what each sidecar holds) before the page could open; and grouping must not be redone
when the catalog has it. Here every photo found under the paths must be in the catalog exactly as it is on disk
(same path, size and mtime), analysed by today's analyzers, judged, and written to its sidecar as the judgement
stands for the host set now (the cull's own fingerprint, with the sidecar still there); then the stored
judgements are the review's, groups and picks included. Anything else (a new or changed photo, a new analyzer, a
sidecar gone, another host) answers None and the review culls as `keepers cull` does. The page shows the judgement
the sidecars carry: judging settings changed since (the good threshold, the stars, a taste profile) are taken up by
the next `keepers cull`, as the host sees them."""

from __future__ import annotations

import json
import os
import sqlite3

from keepers.core.types import Finding, Meta


def _under(root: str) -> tuple[str, str]:
    """The range of paths under a folder, for the catalog's index on path."""
    prefix = root.rstrip(os.sep) + os.sep
    return prefix, prefix[:-1] + chr(ord(os.sep) + 1)


def stored_results(paths, settings, why: list | None = None) -> list | None:
    """The stored judgements of every photo under `paths`, or None; then `why` (where given) gets the first photo
    that stopped it and the reason, for the daemon to say which photo a job must write first."""
    from keepers.core import pm
    from keepers.core.io.catalog import Catalog, verdict_of
    from keepers.core.io.discover import discover
    from keepers.core.io.hosts import adapter_for
    from keepers.core.io.xmp import SidecarWriter
    from keepers.core.pipeline import Result, write_fingerprint

    def no(path, reason: str) -> None:
        if why is not None:
            why.append((str(path), reason))

    if not os.path.exists(settings.catalog):
        return no(paths[0] if paths else "", "nothing has been judged yet")
    photos, errors = discover([os.path.abspath(p) for p in paths], skipped=[])
    if errors:
        return no(*errors[0])
    if not photos:
        return no(paths[0] if paths else "", "no photo there")
    versions = {a.name: a.version for a in pm.analyzers(settings)}
    host, embed = adapter_for(settings), bool(getattr(settings, "embed", False))
    catalog = Catalog(settings.catalog)
    try:
        db = catalog.db
        rows, found, focus = {}, {}, {}
        ranges = []
        for p in paths:
            p = os.path.abspath(p)
            ranges += [(p, p + "\x00")] if os.path.isfile(p) else [_under(os.path.realpath(p)), _under(p)]
        for lo, hi in dict.fromkeys(ranges):
            for r in db.execute("SELECT p.id, p.path, p.size, p.mtime_ns, p.meta, p.error, p.analyzed_at, v.score, "
                                "v.verdict, v.confidence, v.stars, v.reasons, v.keywords, v.grp, v.pick, v.judged_by, "
                                "v.written FROM photos p JOIN verdicts v ON v.photo_id = p.id "
                                "WHERE p.path >= ? AND p.path < ?", (lo, hi)):
                rows[r["path"]] = r
            for r in db.execute("SELECT f.photo_id, f.analyzer, f.version, CASE WHEN f.analyzer IN ('faces', "
                                "'sharpness') THEN f.data END AS data FROM findings f JOIN photos p ON p.id = "
                                "f.photo_id WHERE p.path >= ? AND p.path < ?", (lo, hi)):
                found.setdefault(r["photo_id"], {})[r["analyzer"]] = r["version"]
                if r["data"] is not None:
                    focus.setdefault(r["photo_id"], []).append((r["analyzer"], r["version"], r["data"]))
    except sqlite3.Error as e:
        return no(settings.catalog, f"the catalog cannot be read: {e}")
    finally:
        catalog.close()
    writer = SidecarWriter(cache_folders=True)  # each folder listed once
    out = []
    for photo in photos:
        r = rows.get(photo.path)
        try:
            st = os.stat(photo.path)
        except OSError as e:
            return no(photo.path, f"cannot be read ({e.strerror or e})")
        if r is None or r["analyzed_at"] is None:
            return no(photo.path, "not judged yet")
        if (r["size"], r["mtime_ns"]) != (st.st_size, st.st_mtime_ns):
            return no(photo.path, "changed since it was judged")
        if r["error"] is not None:
            return no(photo.path, f"could not be judged: {r['error']}")
        if found.get(r["id"]) != versions:
            return no(photo.path, "judged by other analyzer versions than today's")
        v = verdict_of(r)
        outside = [f for f in photo.files if host.reads_sidecar(f)]
        if outside or embed:  # written as the cull writes it now (pipeline.write_fingerprint, as the cull records it)
            if r["written"] is None:
                return no(photo.path, "its sidecar has not been written")
            if r["written"] != write_fingerprint(v, host, settings):
                return no(photo.path, "its sidecar was written for another judgement or host than today's")
            if not all(writer.sidecar(f, host)[1].exists() for f in outside):
                return no(photo.path, "its sidecar is not there")
        findings = [Finding(analyzer=a, version=ver, score=None, data=json.loads(d))
                    for a, ver, d in focus.get(r["id"], [])]
        out.append(Result(photo, photo_id=r["id"], meta=Meta(**json.loads(r["meta"])), findings=findings, verdict=v))
    return out
