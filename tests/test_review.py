"""`keepers review`: the real command serving the real page on 127.0.0.1, asked with plain HTTP requests (and, in
test_review_browser.py, by headless Chromium). The photos are `keepers demo`'s (bursts included), their sidecars
read with exiftool."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers import KEEPERS, exiftool_json, isolated_env, keepers


class Page:
    """The running `keepers review` and what it printed."""

    def __init__(self, proc, url, folder, tmp):
        self.proc, self.url, self.folder, self.tmp = proc, url, folder, tmp
        u = urlsplit(url)
        self.port, self.token = u.port, u.query.removeprefix("token=")

    def request(self, method, path, *, body=None, headers=None, cookie=True):
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if cookie:
            h["Cookie"] = f"keepers_review={self.token}"
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def change(self, photo_id, **body):
        return self.request("POST", f"/review/api/photos/{photo_id}", body=body,
                            headers={"X-Keepers-CSRF": self.token, "Origin": f"http://127.0.0.1:{self.port}"})

    def photos(self) -> list[dict]:
        status, _, data = self.request("GET", "/review/api/photos")
        assert status == 200
        return json.loads(data)["photos"]

    def photo(self, name) -> dict:
        return next(p for p in self.photos() if p["name"] == name)


def start_review(folder: Path, tmp: Path) -> Page:
    proc = subprocess.Popen([KEEPERS, "review", str(folder), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=isolated_env(tmp))
    url = proc.stdout.readline().strip()  # printed once the page is served
    if not url:
        proc.kill()
        pytest.fail("keepers review printed no URL: " + proc.stderr.read())
    return Page(proc, url, folder, tmp)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from keepers.core.lab import demo

    tmp = tmp_path_factory.mktemp("review")
    folder = tmp / "photos"
    demo.build(folder)
    outside = tmp / "elsewhere"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes((folder / "rocket.jpg").read_bytes() + b"x")
    os.symlink(outside / "secret.jpg", folder / "linked.jpg")  # a photo in the folder whose file lies outside it
    p = start_review(folder, tmp)
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
        p.proc.wait()


def sidecar(page, name) -> dict:
    rec = exiftool_json(page.folder / f"{name}.xmp", tags=("-XMP-xmp:Rating", "-XMP-keepers:RatingSet"))[0]
    return {"rating": rec.get("Rating"), "rating_set": rec.get("RatingSet")}


def test_the_url_printed_carries_a_token_and_the_server_listens_on_loopback_only(page):
    u = urlsplit(page.url)
    assert (u.scheme, u.hostname, u.path) == ("http", "127.0.0.1", "/review/")
    assert len(page.token) >= 32


def test_the_page_its_photos_and_its_images_are_refused_without_the_token(page):
    some = page.photos()[0]["id"]
    for path in ("/review/", "/review/api/photos", f"/review/img/{some}/thumb", "/review/static/review.js"):
        status, _, body = page.request("GET", path, cookie=False)
        assert status == 401, path
        assert page.token.encode() not in body
    status, _, _ = page.request("GET", "/review/api/photos", cookie=False,
                                headers={"Cookie": "keepers_review=not-the-token"})
    assert status == 401


def test_the_link_with_its_token_sets_a_cookie_and_takes_the_token_out_of_the_address(page):
    status, headers, _ = page.request("GET", f"/review/?token={page.token}", cookie=False)
    assert status == 302 and headers["Location"] == "/review/"
    cookie = headers["Set-Cookie"]
    assert f"keepers_review={page.token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _, body = page.request("GET", "/review/")
    assert status == 200 and b"review.js" in body


def test_a_request_whose_host_is_not_loopback_is_refused_even_with_the_token(page):
    # DNS rebinding: evil.example resolving to 127.0.0.1 makes the browser send its own name as Host
    for host in ("evil.example", f"evil.example:{page.port}", "192.168.1.5"):
        status, _, _ = page.request("GET", "/review/api/photos", headers={"Host": host})
        assert status == 403, host
    assert page.request("GET", "/review/api/photos", headers={"Host": f"localhost:{page.port}"})[0] == 200


def test_a_change_from_a_foreign_origin_or_without_the_csrf_header_is_refused_and_the_sidecar_untouched(page):
    p = page.photo("motorcycle.jpg")
    before = sidecar(page, "motorcycle.jpg")
    path = f"/review/api/photos/{p['id']}"
    status, _, _ = page.request("POST", path, body={"rating": 5},
                                headers={"Origin": "http://evil.example", "X-Keepers-CSRF": page.token})
    assert status == 403
    status, _, _ = page.request("POST", path, body={"rating": 5}, headers={"Origin": f"http://127.0.0.1:{page.port}"})
    assert status == 403
    assert sidecar(page, "motorcycle.jpg") == before


def test_images_are_served_only_for_reviewed_photos_inside_the_reviewed_folders(page):
    linked = page.photo("linked.jpg")  # judged, but its file is outside the folder under review
    assert page.request("GET", f"/review/img/{linked['id']}/thumb")[0] == 403
    assert page.request("GET", "/review/img/999999/thumb")[0] == 404
    assert page.request("GET", "/review/static/..%2Findex.html")[0] == 404


def test_a_thumbnail_is_made_once_and_cached_by_the_photos_content_hash(page):
    p = page.photo("chelsea.jpg")
    status, headers, body = page.request("GET", f"/review/img/{p['id']}/thumb")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    cached = list((page.tmp / "xdg_data_home" / "keepers" / "previews").rglob("*-400.jpg"))
    made = {c: c.stat().st_mtime_ns for c in cached}
    assert page.request("GET", f"/review/img/{p['id']}/thumb")[2] == body
    assert {c: c.stat().st_mtime_ns for c in cached} == made  # served from the cache, not made again


def test_the_grid_lists_every_judged_photo_in_capture_order_with_score_stars_and_reasons(page):
    photos = page.photos()
    times = [p["time"] for p in photos]
    assert times == sorted(times)
    blurred = next(p for p in photos if p["name"] == "chelsea_blurred.jpg")
    assert blurred["flag"] == "reject" and blurred["reasons"][0]["cost"] > 0 and blurred["score"] < 3
    burst = [p for p in photos if p["name"].startswith("burst_")]
    assert len({p["group"] for p in burst}) == 1 and sum(p["pick"] for p in burst) == 1


def test_a_rating_and_a_reject_set_in_the_page_are_the_photographers_in_the_sidecar_and_a_later_cull_keeps_them(page):
    rocket, coffee = page.photo("rocket.jpg"), page.photo("coffee.jpg")
    assert rocket["stars"] != 1 and coffee["flag"] != "reject"
    t0 = time.monotonic()
    status, _, body = page.change(rocket["id"], rating=1)
    assert status == 200 and json.loads(body)["rating"] == 1
    assert sidecar(page, "rocket.jpg") == {"rating": 1, "rating_set": None}  # the photographer's: no RatingSet
    assert time.monotonic() - t0 < 1
    assert page.change(coffee["id"], flag="reject")[0] == 200
    assert sidecar(page, "coffee.jpg")["rating"] == -1
    proc = keepers("cull", page.folder, tmp=page.tmp)
    assert proc.returncode == 0, proc.stderr
    assert sidecar(page, "rocket.jpg") == {"rating": 1, "rating_set": None}
    assert sidecar(page, "coffee.jpg")["rating"] == -1


def test_undo_takes_back_the_last_change_exactly_keepers_rating_stays_keepers_and_redo_makes_it_again(page):
    p = page.photo("burst_1.jpg")
    was = sidecar(page, "burst_1.jpg")
    assert was["rating_set"] == was["rating"] != 5  # Keepers' rating, which a later cull may still change
    assert page.change(p["id"], rating=5)[0] == 200
    assert sidecar(page, "burst_1.jpg") == {"rating": 5, "rating_set": None}
    headers = {"X-Keepers-CSRF": page.token}
    status, _, body = page.request("POST", "/review/api/undo", body={}, headers=headers)
    assert status == 200 and json.loads(body)["photo"]["name"] == "burst_1.jpg"
    assert sidecar(page, "burst_1.jpg") == was
    assert page.photo("burst_1.jpg")["rating"] == was["rating"]
    page.request("POST", "/review/api/undo", body={"redo": True}, headers=headers)
    assert sidecar(page, "burst_1.jpg") == {"rating": 5, "rating_set": None}


def test_sigterm_stops_the_review_cleanly(page):
    page.proc.send_signal(signal.SIGTERM)
    out, err = page.proc.communicate(timeout=30)
    assert page.proc.returncode == 0, err
    assert "review stopped" in err and "Traceback" not in err


def test_the_daemon_serves_the_review_blueprint_and_says_how_to_start_a_review(tmp_path):
    from keepers.core.settings import DaemonSettings, Settings
    from keepers.sidecar.app import Daemon, create_app

    daemon = Daemon(Settings(catalog=tmp_path / "catalog.db", workers=1), DaemonSettings(port=0, warm_up=False),
                    start_workers=False)
    try:
        client = create_app(daemon).test_client()
        r = client.get("/review/", headers={"Host": "127.0.0.1"})
        assert r.status_code == 404 and b"keepers review PATH" in r.data
        assert client.get("/review/", headers={"Host": "evil.example"}).status_code == 403
    finally:
        daemon.close()
