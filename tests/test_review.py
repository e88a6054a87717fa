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

from helpers import KEEPERS, chattr, exiftool_json, isolated_env, keepers


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


def big_astronaut(path: Path) -> None:
    """scikit-image's astronaut at 3x (1536 px, over the 1024 px analysis size), with a capture time."""
    from PIL import Image
    from skimage import data

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:06:20 15:30:00"  # DateTimeOriginal, after the demo's photos
    Image.fromarray(data.astronaut()).resize((1536, 1536), Image.LANCZOS).save(path, quality=95, exif=exif)


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
    big_astronaut(folder / "astronaut_large.jpg")
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


def test_a_colour_label_set_in_the_page_is_the_photographers_in_the_sidecar_and_a_later_cull_keeps_it(page):
    p = page.photo("chelsea.jpg")
    status, _, body = page.change(p["id"], label="yellow")
    assert status == 200 and json.loads(body)["label"] == "yellow"
    tags = ("-XMP-xmp:Label", "-XMP-keepers:PropertiesSet")
    rec = exiftool_json(page.folder / "chelsea.jpg.xmp", tags=tags)[0]
    assert rec.get("Label") == "Yellow"  # Lightroom's and Bridge's name for it
    assert "xmp:Label" not in str(rec.get("PropertiesSet"))  # not Keepers': a cull may not change it
    assert page.change(p["id"], label="purple", rating=6)[0] == 400  # refused whole: nothing written
    assert keepers("cull", page.folder, tmp=page.tmp).returncode == 0
    assert exiftool_json(page.folder / "chelsea.jpg.xmp", tags=tags)[0].get("Label") == "Yellow"
    assert page.photo("chelsea.jpg")["label"] == "yellow"


def test_the_focus_crop_shows_the_astronauts_face_at_100_percent_of_the_photo(page):
    import io

    import numpy as np
    from PIL import Image

    p = page.photo("astronaut_large.jpg")
    x0, y0, x1, y1 = p["focus"]  # the largest face, as fractions of the frame
    assert 0.25 < (x0 + x1) / 2 < 0.6 and 0.05 < (y0 + y1) / 2 < 0.4, p["focus"]
    status, headers, body = page.request("GET", f"/review/img/{p['id']}/crop")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    crop = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(float)
    assert crop.shape == (800, 800, 3)  # 800 of the photo's 1536 pixels: not the 1600 px preview scaled
    full = np.asarray(Image.open(page.folder / "astronaut_large.jpg").convert("RGB")).astype(float)
    left = int(min(max((x0 + x1) / 2 * 1536 - 400, 0), 1536 - 800))
    top = int(min(max((y0 + y1) / 2 * 1536 - 400, 0), 1536 - 800))
    assert np.abs(crop - full[top:top + 800, left:left + 800]).mean() < 4  # the same pixels, one to one


def test_a_second_review_of_a_culled_folder_opens_from_the_catalogs_judgements_and_a_new_photo_is_culled(page):
    from keepers.core.settings import Settings
    from keepers.sidecar.review.stored import stored_results

    env = isolated_env(page.tmp)
    settings = Settings(catalog=Path(env["XDG_DATA_HOME"]) / "keepers" / "catalog.db")
    stored = stored_results([page.folder], settings)  # culled by the page's start and the cull above
    assert stored is not None
    shown = {p["name"]: (p["group"], p["pick"], p["score"]) for p in page.photos()}
    assert {os.path.basename(r.photo.path): (r.verdict.group, r.verdict.pick, round(r.verdict.score, 1))
            for r in stored} == shown  # the bursts and picks the cull made, not made again
    (page.folder / "rocket_copy.jpg").write_bytes((page.folder / "rocket.jpg").read_bytes() + b"\0")
    try:
        assert stored_results([page.folder], settings) is None  # something new: the review culls first
    finally:
        (page.folder / "rocket_copy.jpg").unlink()


def test_with_lightroom_a_jpegs_choice_goes_into_the_file_with_embed_else_only_into_the_catalog(tmp_path):
    import shutil

    from keepers.core.commands.cull import run_cull
    from keepers.core.io.catalog import Catalog
    from keepers.core.lab import demo
    from keepers.core.settings import Settings
    from keepers.sidecar.review.state import Review

    demo.build(tmp_path / "demo")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("rocket.jpg", "coffee.jpg"):
        shutil.copy(tmp_path / "demo" / name, folder / name)
    for embed in (False, True):
        settings = Settings(catalog=tmp_path / f"catalog{embed}.db", host="lightroom", embed=embed, workers=1)
        results, _ = run_cull([str(folder)], settings, quiet=True)
        review = Review(settings, results, [str(folder)])
        try:
            rocket = next(it for it in review.items.values() if it.photo.path.endswith("rocket.jpg"))
            assert rocket.as_dict()["where"] == ("embedded" if embed else "plugin")  # the page says which
            was = exiftool_json(folder / "rocket.jpg", tags=("-XMP-xmp:Rating",))[0].get("Rating")
            assert was == (rocket.info["stars"] if embed else None)  # cull --embed wrote Keepers' stars into it
            review.change(rocket.id, rating=2 if embed else 4, flag="pick")
            assert not list(folder.glob("*.xmp"))  # Lightroom reads no sidecar for a JPEG: none is written
            inside = exiftool_json(folder / "rocket.jpg", tags=("-XMP-xmp:Rating", "-XMP-keepers:RatingSet"))[0]
            assert inside.get("Rating") == (2 if embed else None) and inside.get("RatingSet") is None
            row = review.catalog.db.execute("SELECT rating, flag FROM review_choices WHERE photo_id = ?",
                                            (rocket.id,)).fetchone()
            assert tuple(row) == ((2, "pick") if embed else (4, "pick"))  # kept in the catalog (embed: in the file too)
            review.undo()
            assert exiftool_json(folder / "rocket.jpg", tags=("-XMP-xmp:Rating",))[0].get("Rating") == was
        finally:
            review.close()
    assert Catalog(tmp_path / "catalogTrue.db").photo_row(str(folder / "rocket.jpg"))["size"] == \
        (folder / "rocket.jpg").stat().st_size  # the file's new content is the catalog's: no new analysis


CAMERA = Path(__file__).resolve().parents[2] / "shared" / "data" / "camera"


@pytest.mark.skipif(not CAMERA.is_dir(), reason="needs ../shared/data/camera (real sidecars from exiftool and exiv2)")
def test_the_page_reads_the_same_rating_and_label_as_exiftool_from_real_sidecars_of_other_programs():
    from keepers.sidecar.review.xmpio import read_many

    sidecars = sorted(CAMERA.glob("*/*.xmp"))
    assert len(sidecars) > 10
    got = read_many(sidecars)
    for rec in exiftool_json(*sidecars, tags=("-n", "-XMP-xmp:Rating", "-XMP-xmp:Label")):
        path = Path(rec["SourceFile"])
        mine = got.get(path, {})
        assert (mine.get("rating"), mine.get("label")) == (rec.get("Rating"), rec.get("Label")), path.name


def test_the_preview_queue_makes_the_loupes_photo_before_thumbnails_asked_earlier_and_the_newest_first():
    import threading

    from keepers.sidecar.review.thumbs import PRIORITY, Queue

    q, done, gate = Queue(workers=1), [], threading.Event()
    try:
        q.submit("busy", 0, gate.wait)  # the one worker is busy while the page asks for more
        jobs = [q.submit(f"thumb{i}", PRIORITY["thumb"], lambda i=i: done.append(f"thumb{i}")) for i in range(3)]
        jobs.append(q.submit("loupe", PRIORITY["loupe"], lambda: done.append("loupe")))
        again = q.submit("thumb0", PRIORITY["thumb"], lambda: done.append("twice"))  # asked again: moves up
        gate.set()
        for j in jobs:
            j.result(timeout=10)
        assert again is jobs[0] and done == ["loupe", "thumb0", "thumb2", "thumb1"]
    finally:
        q.close()


def test_a_label_keepers_set_and_the_photographer_removed_in_the_page_stays_removed_after_a_cull_rewrites_it(page):
    """Keepers labelled a reject red; the photographer takes the label off in the page and gives another of Keepers'
    red photos stars only. A later cull that writes every sidecar again (here: new label settings) puts no label back
    and leaves the starred photo's red Keepers' own."""
    touched = {"rocket.jpg", "coffee.jpg", "chelsea.jpg", "burst_1.jpg"}  # the page's other tests chose for these
    red = [p for p in page.photos() if p["label"] == "red" and p["name"] not in touched]
    assert len(red) >= 2, [(p["name"], p["label"]) for p in page.photos()]
    unlabelled, starred = red[:2]
    tags = ("-XMP-xmp:Label", "-XMP-keepers:PropertiesSet", "-XMP-keepers:Overruled", "-XMP-keepers:AnalyzedAt")

    def side(p):
        return exiftool_json(page.folder / f"{p['name']}.xmp", tags=tags)[0]

    assert page.change(unlabelled["id"], label=None)[0] == 200
    assert side(unlabelled).get("Label") is None and "xmp:Label" in str(side(unlabelled).get("Overruled"))
    assert page.change(starred["id"], rating=3)[0] == 200
    assert side(starred).get("Label") == "Red" and "xmp:Label=Red" in str(side(starred).get("PropertiesSet"))
    written = side(unlabelled)["AnalyzedAt"]
    config = page.tmp / "labels.toml"
    config.write_text('[labels]\nkeeper = "blue"\n')  # what Keepers writes changes: every sidecar is written again
    time.sleep(1.1)  # AnalyzedAt has whole seconds
    proc = keepers("cull", page.folder, "--config", config, tmp=page.tmp)
    assert proc.returncode == 0, proc.stderr
    assert side(unlabelled)["AnalyzedAt"] != written  # the cull did write this sidecar
    assert side(unlabelled).get("Label") is None and side(starred).get("Label") == "Red"
    assert page.photo(unlabelled["name"])["label"] is None


def test_stars_given_in_the_page_leave_the_darktable_colour_labels_the_page_does_not_show(tmp_path):
    """darktable keeps several colour labels a photo (darktable:colorlabels); the page shows one. Giving stars used
    to write the page's label over the list: the photographer's purple, set in darktable, went."""
    import shutil

    from keepers.core.commands.cull import run_cull
    from keepers.core.io.xmp import read_sidecar
    from keepers.core.lab import demo
    from keepers.core.settings import Settings
    from keepers.sidecar.review.state import Review

    demo.build(tmp_path / "demo")
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(tmp_path / "demo" / "coffee.jpg", folder / "coffee.jpg")
    settings = Settings(catalog=tmp_path / "catalog.db", host="darktable", workers=1)
    results, _ = run_cull([str(folder)], settings, quiet=True)
    side = folder / "coffee.jpg.xmp"
    config = Path(__file__).resolve().parents[1] / "core" / "io" / "exiftool_config.pl"  # darktable's namespace
    subprocess.run(["exiftool", "-config", str(config), "-q", "-overwrite_original",
                    "-XMP-darktable:DarktableColorLabels+=4", str(side)], check=True)  # purple, in darktable
    labels = read_sidecar(side)["darktable_colorlabels"]
    review = Review(settings, results, [str(folder)])
    try:
        review.change(next(iter(review.items)), rating=4)
        s = read_sidecar(side)
        assert s["rating"] == 4 and s["darktable_colorlabels"] == labels and 4 in labels
    finally:
        review.close()


def test_a_choice_whose_sidecar_is_read_only_says_why_it_was_not_saved_and_changes_nothing(page):
    # chattr +i: read-only even to root, as a photographer's locked file is to them
    p = page.photo("coffee_dark.jpg")
    side = page.folder / "coffee_dark.jpg.xmp"
    was = sidecar(page, "coffee_dark.jpg")
    chattr("+i", side)
    try:
        status, headers, body = page.change(p["id"], rating=1 if p["rating"] != 1 else 2)
    finally:
        chattr("-i", side)
    # the page shows the body after "not saved: " (was a 500 and Flask's HTML page, a traceback in the log)
    assert status == 409 and headers["Content-Type"].startswith("text/plain"), (status, body)
    assert body.decode().startswith(f"cannot write {side}"), body
    assert sidecar(page, "coffee_dark.jpg") == was
    assert page.photo("coffee_dark.jpg")["rating"] == p["rating"]


def test_a_choice_for_a_photo_deleted_since_the_page_opened_is_refused_and_its_left_sidecar_untouched(page):
    p = page.photo("astronaut_bright.jpg")
    photo = page.folder / "astronaut_bright.jpg"
    was = sidecar(page, "astronaut_bright.jpg")
    away = page.tmp / "moved_away"
    away.mkdir(exist_ok=True)
    os.replace(photo, away / photo.name)  # deleted in a file manager: its sidecar stays
    try:
        status, _, body = page.change(p["id"], rating=5 if p["rating"] != 5 else 4)
        loupe, _, _ = page.request("GET", f"/review/img/{p['id']}/loupe")
    finally:
        os.replace(away / photo.name, photo)
    # was 200 "saved", the rating written into the sidecar of a photo no longer there
    assert status == 409 and "no longer there" in body.decode(), (status, body)
    assert sidecar(page, "astronaut_bright.jpg") == was
    assert page.photo("astronaut_bright.jpg")["rating"] == p["rating"]
    assert loupe in (200, 404)  # 200: its preview cached before; never a 500


def test_each_change_and_undo_leaves_keepers_record_in_the_sidecar_as_exact_lists_without_repeats(page):
    tags = ("-XMP-xmp:Rating", "-XMP-xmp:Label", "-XMP-keepers:PropertiesSet", "-XMP-keepers:Overruled")

    def side():
        rec = exiftool_json(page.folder / "coffee_shaken.jpg.xmp", tags=tags)[0]
        return {k: rec.get(k) for k in ("Rating", "Label", "PropertiesSet", "Overruled")}

    p = page.photo("coffee_shaken.jpg")
    was = side()
    for body in ({"rating": 2}, {"rating": 3}, {"label": "red"}, {"label": None}):
        assert page.change(p["id"], **body)[0] == 200
    overruled = side()["Overruled"]
    # was ['xmp:Label', 'xmp:Rating', 'xmp:Label', 'xmp:Rating', ...]: one more copy of the list at each change
    assert sorted(overruled) == ["xmp:Label", "xmp:Rating"], overruled
    headers = {"X-Keepers-CSRF": page.token, "Origin": f"http://127.0.0.1:{page.port}"}
    for _ in range(4):
        assert page.request("POST", "/review/api/undo", body={}, headers=headers)[0] == 200
    assert side() == was


def test_two_tabs_each_undo_only_their_own_changes_and_each_is_told_what_the_other_changed(page):
    headers = {"X-Keepers-CSRF": page.token, "Origin": f"http://127.0.0.1:{page.port}"}

    def change(tab, photo, **body):
        status, _, data = page.request("POST", f"/review/api/photos/{photo['id']}", body=body,
                                       headers={**headers, "X-Keepers-Tab": tab})
        assert status == 200, data
        return json.loads(data)

    def undo(tab):
        status, _, data = page.request("POST", "/review/api/undo", body={}, headers={**headers, "X-Keepers-Tab": tab})
        return status, (json.loads(data)["photo"] if status == 200 else data.decode())

    def changed_since(seq):
        status, _, data = page.request("GET", f"/review/api/photos?since={seq}")
        assert status == 200
        return json.loads(data)

    noisy, burst = page.photo("astronaut_noisy.jpg"), page.photo("burst_4.jpg")
    was = sidecar(page, "astronaut_noisy.jpg")["rating"]
    seq = changed_since(0)["seq"]
    assert change("A", noisy, rating=5 if was != 5 else 4)["seq"] > seq
    told = changed_since(seq)  # what tab B asks when it comes back into view: only the photo A changed
    assert [p["name"] for p in told["photos"]] == ["astronaut_noisy.jpg"] and told["seq"] > seq
    assert told["photos"][0]["rating"] == sidecar(page, "astronaut_noisy.jpg")["rating"] != was
    assert changed_since(told["seq"])["photos"] == []

    change("B", burst, label="green")
    status, photo = undo("B")  # before: one history for the review, and B's second undo took back A's change
    assert status == 200 and photo["name"] == "burst_4.jpg" and photo["label"] is None
    assert undo("B") == (200, None)  # B has nothing more to take back: nothing changes
    assert sidecar(page, "astronaut_noisy.jpg")["rating"] == (5 if was != 5 else 4)
    status, photo = undo("A")
    assert status == 200 and photo["name"] == "astronaut_noisy.jpg"
    assert sidecar(page, "astronaut_noisy.jpg")["rating"] == was

    # both tabs change one photo: A's undo would take back B's change too, so it is refused and says why
    change("A", noisy, rating=1)
    change("B", noisy, rating=3)
    status, why = undo("A")
    assert status == 409 and "astronaut_noisy.jpg was changed in another tab" in why
    assert sidecar(page, "astronaut_noisy.jpg")["rating"] == 3
    assert undo("A") == (200, None)
    assert undo("B")[1]["rating"] == 1 and sidecar(page, "astronaut_noisy.jpg")["rating"] == 1


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

