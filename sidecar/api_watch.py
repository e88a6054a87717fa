"""GET /v1/watch: the watched folders as a DAM client sees them, what is queued and which files could not be
analysed and why. /health, which needs no key, gives only the queue's depth; a failed file's path is shown only to
a key whose application's roots hold it, as every path the API answers with."""

from __future__ import annotations

import os

from keepers.sidecar import schemas as s
from keepers.sidecar.app import Ctx, route
from keepers.sidecar.paths import inside, real_roots

LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}


def _prefixes(watched: list[str], roots: list[str]) -> list[str]:
    """The parts of the watched folders (as the queue spells their files' paths) that lie under `roots` (resolved):
    a folder inside a root whole, a folder holding a root only that root's part of it."""
    out = []
    for w in watched:
        real = os.path.realpath(w)
        if inside(real, roots):
            out.append(w)
        else:
            out += [w + r[len(real):] for r in roots if r != real and inside(r, [real])]
    out = sorted(set(out))
    # a folder already under another listed one would count its files twice
    return [p for p in out if not any(p != q and p.startswith(q.rstrip(os.sep) + os.sep) for q in out)]


def _mtime_ns(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


@route("GET", "/v1/watch", scope="predict", summary="Watched folders: what is queued, and the files that could not "
       "be analysed and why", response=s.WatchStatus, options={"limit": LIMIT})
def watch_status(ctx: Ctx):
    store, roots = ctx.daemon.store, real_roots(ctx.key.roots)
    watched = [os.path.abspath(os.path.expanduser(str(f))) for f in ctx.daemon.daemon_settings.watch]
    folders = _prefixes(watched, roots)
    counts = {"queued": 0, "running": 0, "done": 0}
    failed = []
    for p in folders:
        under = (p.rstrip(os.sep) + os.sep,)
        # files, not versions: one analysed again after a change is one file done
        for r in store.all("SELECT state, count(DISTINCT path) AS n FROM watch_queue WHERE "
                           "substr(path, 1, length(?1)) = ?1 GROUP BY state", under):
            if r["state"] in counts:
                counts[r["state"]] += r["n"]
        failed += store.all("SELECT path, mtime_ns, error, finished_at, size FROM watch_queue WHERE state = 'failed' "
                            "AND substr(path, 1, length(?1)) = ?1", under)
    # the version on disk now only: one that failed, then came again whole, has not failed (nor, if it came back with
    # an older time, as `cp -p` and `rsync -t` give it: versions are told apart by the file's time, not its order);
    # gone since (deleted, moved away), or a symlink whose file lies outside the roots: not listed
    failed = [r for r in failed if _mtime_ns(r["path"]) == r["mtime_ns"] and inside(os.path.realpath(r["path"]), roots)]
    failed.sort(key=lambda r: (r["finished_at"] or "", r["path"]), reverse=True)
    return {"folders": folders, **counts, "failed_total": len(failed),
            "failed": [{"path": r["path"], "error": r["error"] or "not analysed", "failed_at": r["finished_at"],
                        "size": r["size"]} for r in failed[:ctx.args.get("limit", 100)]]}
