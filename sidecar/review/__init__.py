"""The review page: a Flask blueprint under /review serving the grid, loupe and compare views of a `Review`
(state.py) and the calls that change a photo's stars and flag.

Safe on a shared machine (like Jupyter's): every page, image and API call needs the run's token (given once in the
URL, then kept in an HttpOnly cookie); the Host header must name the loopback (DNS rebinding); a state-changing
call needs a matching Origin, where the browser sends one, and the CSRF header the page sends; images are served
only for the reviewed photos and only from under the reviewed roots."""

from __future__ import annotations

import hmac
import re
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request, send_file

from keepers.core.errors import ReadError, WriteError
from keepers.sidecar.review.state import Changed
from keepers.sidecar.review.thumbs import Closed

STATIC = Path(__file__).with_name("static")
COOKIE = "keepers_review"
CSRF_HEADER = "X-Keepers-CSRF"
TAB_HEADER = "X-Keepers-Tab"  # the page's id, one per tab: its undo takes back only its own changes
_LOOPBACK = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$", re.I)

blueprint = Blueprint("review", __name__, url_prefix="/review")


def _review():
    r = current_app.config.get("KEEPERS_REVIEW")
    if r is None:
        abort(Response("no review is running here: start one with `keepers review PATH`, or through the daemon's "
                       "POST /v1/review", 404))
    return r


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


@blueprint.before_request
def _guard():
    if not _LOOPBACK.match(request.host or ""):
        abort(Response("the review page answers only to 127.0.0.1 or localhost", 403))
    r = _review()
    if _same(request.args.get("token"), r.token) and request.method == "GET":
        # the token leaves the URL (history, screenshots) for a cookie only this host's pages send
        resp = redirect(request.path)
        resp.set_cookie(COOKIE, r.token, httponly=True, samesite="Strict", path="/review")
        return resp
    if not _same(request.cookies.get(COOKIE), r.token):
        abort(Response("this page needs the link `keepers review` printed (with its token)", 401))
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            abort(Response("a change from another site's page is refused", 403))
        if not _same(request.headers.get(CSRF_HEADER), r.token):
            abort(Response("a change needs the page's CSRF header", 403))


@blueprint.errorhandler(Closed)
def _closed(e: Closed):
    """A preview or a choice asked as the review ends (its server stops, another review replaces it): said so, as
    the page shows it ("not saved: ..."), instead of the daemon's 500 and a traceback in its log for each."""
    return Response(str(e), 503, mimetype="text/plain")


@blueprint.errorhandler(WriteError)
def _not_written(e: WriteError):
    """A choice whose file cannot be written (a read-only folder or sidecar, a photo deleted since the page opened):
    the reason, which the page shows after "not saved: ", instead of a 500 and its HTML; nothing was changed."""
    return Response(str(e), 409, mimetype="text/plain")


@blueprint.errorhandler(Changed)
def _changed(e: Changed):
    """An undo in one tab of a photo another tab changed since: refused, said why; the page then shows the photo
    as it is."""
    return Response(str(e), 409, mimetype="text/plain")


@blueprint.errorhandler(ReadError)
def _not_read(e: ReadError):
    """A preview of a photo deleted or broken since the page opened: 404 with the reason, not a 500."""
    return Response(str(e), 404, mimetype="text/plain")


@blueprint.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self'; object-src 'none'; "
                                                       "frame-ancestors 'none'")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@blueprint.get("/")
def page():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return Response(html, mimetype="text/html")


@blueprint.get("/static/<name>")
def static(name: str):
    if name not in ("review.js", "review.css", "favicon.svg"):
        abort(404)
    return send_file(STATIC / name, max_age=0)


@blueprint.get("/api/photos")
def photos():
    """Every photo, or with ?since=N those changed (in any tab) after change number N; `seq`: the last change's."""
    r = _review()
    since = request.args.get("since")
    if since is not None and not (since.isascii() and since.isdigit()):
        abort(Response("since is a change number (0 or more)", 400))
    seq, changed = r.changed_since(None if since is None else int(since))
    return jsonify({"photos": changed, "seq": seq, "csrf": r.token})


def _tab() -> str:
    return (request.headers.get(TAB_HEADER) or "")[:64]


@blueprint.get("/img/<int:photo_id>/<size>")
def image(photo_id: int, size: str):
    """A photo's thumbnail, loupe preview or 100 % focus crop ('crop'), made in the preview queue (thumbs.py)."""
    from keepers.sidecar.review.thumbs import PRIORITY, SIZES, focus_crop, preview

    r = _review()
    it = r.items.get(photo_id)
    if it is None or size not in (*SIZES, "crop") or (size == "crop" and not it.info.get("focus")):
        abort(404)
    if not r.allowed(it.photo.path):
        abort(Response("that photo is outside the reviewed folders", 403))
    key = it.content_hash or f"id{photo_id}"
    if size == "crop":
        job = lambda: focus_crop(r.thumbs, it.photo, key, it.info["focus"])  # noqa: E731
    else:
        e = it.info.get("exif") or {}
        full = max(e.get("width") or 0, e.get("height") or 0) or None
        job = lambda: preview(r.thumbs, it.photo, key, size, full)  # noqa: E731
    path = r.previews.submit((key, size), PRIORITY[size], job).result()
    return send_file(path, mimetype="image/jpeg", max_age=3600)


@blueprint.post("/api/photos/<int:photo_id>")
def change(photo_id: int):
    from keepers.sidecar.review.state import LABELS

    r = _review()
    if photo_id not in r.items:
        abort(404)
    body = request.get_json(silent=True) or {}
    kw = {}
    if "rating" in body:
        if not isinstance(body["rating"], int) or not 0 <= body["rating"] <= 5:
            abort(Response("rating is 0-5", 400))
        kw["rating"] = body["rating"]
    if "flag" in body:
        if body["flag"] not in (None, "pick", "reject"):
            abort(Response("flag is pick, reject or null", 400))
        kw["flag"] = body["flag"]
    if "label" in body:
        if body["label"] not in (None, *LABELS):
            abort(Response("label is one of " + ", ".join(LABELS) + " or null", 400))
        kw["label"] = body["label"]
    return jsonify(r.change(photo_id, tab=_tab(), **kw))


@blueprint.post("/api/undo")
def undo():
    r = _review()
    done = r.undo(redo=bool((request.get_json(silent=True) or {}).get("redo")), tab=_tab())
    return jsonify({"photo": done})


def app_for(review):
    """A Flask app serving only the review page (what `keepers review` runs)."""
    from flask import Flask

    app = Flask("keepers.review")
    app.config["KEEPERS_REVIEW"] = review
    app.register_blueprint(blueprint)
    app.add_url_rule("/", "root", lambda: redirect("/review/"))
    return app
