"""The review page in the daemon (`keepers serve`): any application with the `predict` scope opens it on photos or
folders of its library that the daemon has judged and written (a job with `write`), and gets the page's link. It is
the same page `keepers review` serves, with the same token, Host and CSRF rules; one review runs at a time, and
opening another ends the last one's link (its token no longer opens anything)."""

from __future__ import annotations

import threading

_lock = threading.Lock()


class NotReady(Exception):
    """The photos cannot be reviewed from what the daemon has judged (new, changed or unwritten ones)."""


def open_review(app, settings, paths: list[str], base_url: str) -> dict:
    """Install a review of `paths` (resolved, inside the caller's roots) in `app`; {"url", "photos"}."""
    from keepers.sidecar.review.state import Review
    from keepers.sidecar.review.stored import stored_results

    # the daemon does not cull here: a request must not wait for analysis (that is what jobs are for)
    results = stored_results(paths, settings)
    if results is None:
        raise NotReady("some of these photos are new, changed or not written since they were judged: run a job on "
                       "them with write true (POST /v1/jobs), then open the review")
    state = Review(settings, results, paths)
    if not state.items:
        state.close()
        raise NotReady("no photo under these paths has been judged: nothing to review")
    with _lock:
        old = app.config.get("KEEPERS_REVIEW")
        app.config["KEEPERS_REVIEW"] = state
    if old is not None:
        old.close()
    return {"url": f"{base_url.rstrip('/')}/review/?token={state.token}", "photos": len(state.items)}
