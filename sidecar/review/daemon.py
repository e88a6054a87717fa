"""The review page in the daemon (`keepers serve`): any application with the `predict` scope opens it on photos or
folders of its library that the daemon has judged and written (a job with `write`), and gets the page's link. It is
the same page `keepers review` serves, with the same token, Host and CSRF rules; one review runs at a time, and
opening another ends the last one's link (its token no longer opens anything)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_STOPPED = "KEEPERS_REVIEW_STOPPED"  # app.config: its server has stopped, and no review opens any more


class NotReady(Exception):
    """The photos cannot be reviewed from what the daemon has judged (new, changed or unwritten ones)."""


def open_review(app, settings, paths: list[str], base_url: str) -> dict:
    """Install a review of `paths` (resolved, inside the caller's roots) in `app`; {"url", "photos"}."""
    from keepers.sidecar.review.state import Review
    from keepers.sidecar.review.stored import stored_results

    # the daemon does not cull here: a request must not wait for analysis (that is what jobs are for)
    why: list = []
    results = stored_results(paths, settings, why)
    if results is None:
        # the photo and the reason: "some of these photos" left a library of thousands to guess, and a photo whose
        # sidecar cannot be written (a read-only folder) is never made ready by the job the message asked for
        path, reason = why[0] if why else ("", "")
        raise NotReady(f"{path}: {reason}. Every photo must be judged and written as it is now (a job with write "
                       "true, POST /v1/jobs; a sidecar that cannot be written says why in the job's results) "
                       "before the review opens")
    state = Review(settings, results, paths)
    if not state.items:
        state.close()
        raise NotReady("no photo under these paths has been judged: nothing to review")
    old = None
    with _lock:
        stopped = app.config.get(_STOPPED, False)
        if not stopped:
            old = app.config.get("KEEPERS_REVIEW")
            app.config["KEEPERS_REVIEW"] = state
    if stopped:  # opened while the server stopped: nothing would ever close it
        state.close()
        raise NotReady("the daemon is stopping: no review opens now")
    if old is not None:
        old.close()
    return {"url": f"{base_url.rstrip('/')}/review/?token={state.token}", "photos": len(state.items)}


def close_review(app) -> None:
    """End the review running in `app`, as its server stops: its link opens nothing from now on, a choice being
    written is written whole, and its threads and exiftool end (Review.close). A review opened after this is closed
    at once. Closed outside the lock, as open_review closes the one it replaces: a write it waits for holds no
    other request."""
    with _lock:
        app.config[_STOPPED] = True
        old = app.config.pop("KEEPERS_REVIEW", None)
    if old is not None:
        old.close()


def choices(catalog, paths: list[str]) -> dict[str, dict]:
    """The page's choices on these photos (real paths) as a host's plug-in applies them: {path: {rating, flag,
    label, decided_at}}. Stars are given only where the photographer gave them (the page keeps the stars it showed
    beside a flag or label, maybe Keepers'); photos without a choice to apply are left out."""
    db = catalog.db
    out: dict[str, dict] = {}
    with catalog._lock:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'review_choices'").fetchone():
            return out  # no page was ever used with this catalog
        cols = {r[1] for r in db.execute("PRAGMA table_info(review_choices)")}
        label = "c.label" if "label" in cols else "NULL"
        rated = "c.rated" if "rated" in cols else "NULL"
        for i in range(0, len(paths), 500):
            part = list(dict.fromkeys(paths[i:i + 500]))
            rows = db.execute(f"SELECT p.path, c.rating, c.flag, {label}, {rated}, c.decided_at FROM review_choices c "
                              f"JOIN photos p ON p.id = c.photo_id WHERE p.path IN ({','.join('?' * len(part))})", part)
            for path, rating, flag, colour, given, when in rows:
                # rated NULL: a catalog from before the page told given stars from shown ones; it wrote them as given
                rating = rating if given != 0 else None
                if rating is not None or flag is not None or colour is not None:  # else unflagged: nothing to apply
                    out[path] = {"rating": rating, "flag": flag, "label": colour, "decided_at": when}
    return out
