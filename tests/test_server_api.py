"""The daemon's HTTP API, called over real HTTP on 127.0.0.1 (waitress in a thread): scopes on every route, keys,
application isolation, path safety, upload limits, per-input errors, predict, workflows, jobs, models."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from keepers.core.settings import Settings
from keepers.sidecar import auth
from keepers.sidecar.api import ROUTES
from keepers.sidecar.app import ANY_KEY, PUBLIC, Daemon
from keepers.sidecar.client import Client
from keepers.sidecar.config import DaemonSettings
from keepers.sidecar.server import Server

HAVE_SIMILARITY = importlib.util.find_spec("keepers.core.search.similarity") is not None
MAX_UPLOAD = 1_500_000
MAX_PIXELS = 1_000_000


def sample(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    return img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)


def jpeg(path: Path, rgb: np.ndarray, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, quality=quality)
    return path


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("daemon")
    a, b, outside = tmp / "library_a", tmp / "library_b", tmp / "outside"
    photos = {n: jpeg(a / f"{n}.jpg", sample(n)) for n in ("astronaut", "chelsea", "coffee")}
    for i in range(12):  # a folder for jobs: crops of a real photo
        jpeg(a / "shoot" / f"frame_{i:02d}.jpg", sample("coffee")[i * 8:i * 8 + 300, i * 10:i * 10 + 400])
    good = jpeg(a / "batch" / "good.jpg", sample("rocket"))
    bad = a / "batch" / "bad.jpg"
    bad.write_bytes(good.read_bytes()[:3000])  # a truncated JPEG
    b_photo = jpeg(b / "cat.jpg", sample("chelsea"))
    crop = jpeg(a / "similar" / "chelsea_crop.jpg", sample("chelsea")[10:290, 20:430])
    secret = jpeg(outside / "secret.jpg", sample("astronaut"))
    (a / "escape.jpg").symlink_to(secret)
    (a / "shoot" / "escape.jpg").symlink_to(secret)
    settings = Settings(catalog=tmp / "catalog.db", workers=1, max_pixels=MAX_PIXELS)
    daemon = Daemon(settings, DaemonSettings(port=0, max_upload_bytes=MAX_UPLOAD, warm_up=False))
    store = daemon.store
    app_a, _, full_a = auth.create_app(store, "alpha", [str(a)])
    _, _, full_b = auth.create_app(store, "beta", [str(b)])
    scoped = {s: auth.create_key(store, app_a, [s])[1] for s in auth.SCOPES}
    others = {s: auth.create_key(store, app_a, [x for x in auth.SCOPES if x != s])[1] for s in auth.SCOPES}
    server = Server(daemon, port=0).start()
    c = Client(server.url, full_a)
    first = c.post("/v1/predict", {"paths": [str(p) for p in photos.values()]}).json()["results"]
    names = [m["name"] for m in c.get("/v1/models").json()["models"]]
    wf = c.post("/v1/workflows", {"name": "first", "models": names[:1]})
    assert wf.status == 201, wf
    job = c.post("/v1/jobs", {"paths": [str(photos["astronaut"])]}).json()
    yield SimpleNamespace(url=server.url, tmp=tmp, a=a, b=b, outside=outside, photos=photos, good=good, bad=bad,
                          b_photo=b_photo, secret=secret, full_a=full_a, full_b=full_b, scoped=scoped, others=others,
                          ids={r["input"]: r["photo_id"] for r in first}, crop=crop, names=names, job=job["id"], daemon=daemon,
                          c=c, has_embedding="embedding" in names)
    server.stop()


def client(ns, key=None) -> Client:
    return Client(ns.url, key)


def is_error(r, status: int, code: str | None = None) -> None:
    assert r.status == status, r
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]
    if code:
        assert body["error"]["code"] == code, body


# --- every route x scope ----------------------------------------------------------------------------------------


def example(ns, method: str, path: str):
    """A valid request for each route: (method, url, JSON body or None, statuses that mean success)."""
    c = client(ns, ns.full_a)
    astronaut = str(ns.photos["astronaut"])
    pid = ns.ids[astronaut]
    search_ok = {200} if HAVE_SIMILARITY else {501}
    if (method, path) == ("DELETE", "/v1/workflows/{name}"):
        name = f"tmp{time.monotonic_ns()}"
        assert c.post("/v1/workflows", {"name": name, "models": ns.names[:1]}).status == 201
        return method, f"/v1/workflows/{name}", None, {200}
    if (method, path) == ("DELETE", "/v1/keys/{key_id}"):
        key_id, _ = auth.create_key(ns.daemon.store, auth.authenticate(ns.daemon.store, f"Bearer {ns.full_a}").app_id,
                                    ["predict"])
        return method, f"/v1/keys/{key_id}", None, {200}
    if (method, path) == ("DELETE", "/v1/models/{name}"):
        name = f"c{time.monotonic_ns()}"
        made = c.post("/v1/models", {"name": name, "examples": [pid]})
        return method, f"/v1/models/{name}", None, {200} if made.status == 201 else {404}
    if path.startswith("/v1/taste/profiles/"):  # a profile of this application, its choices of its photos
        name = f"t{time.monotonic_ns()}"
        pair = {"preferred": astronaut, "other": str(ns.photos["coffee"])}
        assert c.post(f"/v1/taste/profiles/{name}/choices", {"choices": [pair, pair]}).status == 202
        made = c.get(f"/v1/taste/profiles/{name}/file").json()
        taste = {("GET", "{name}"): (None, {200}), ("PATCH", "{name}"): ({"follow_signals": False}, {200}),
                 ("DELETE", "{name}"): (None, {200}), ("POST", "{name}/choices"): ({"choices": [pair]}, {202}),
                 ("GET", "{name}/file"): (None, {200}), ("PUT", "{name}/file"): (made, {200})}
        body, ok = taste[(method, path.removeprefix("/v1/taste/profiles/"))]
        return method, path.replace("{name}", name), body, ok
    table = {
        ("GET", "/health"): ("/health", None, {200}),
        ("GET", "/v1/watch"): ("/v1/watch", None, {200}),
        ("GET", "/v1/taste/profiles"): ("/v1/taste/profiles", None, {200}),
        ("GET", "/v1/me"): ("/v1/me", None, {200}),
        ("POST", "/v1/predict"): ("/v1/predict", {"paths": [astronaut]}, {200}),
        ("POST", "/v1/jobs"): ("/v1/jobs", {"paths": [astronaut]}, {202}),
        ("GET", "/v1/jobs"): ("/v1/jobs", None, {200}),
        ("GET", "/v1/jobs/{job_id}"): (f"/v1/jobs/{ns.job}", None, {200}),
        ("POST", "/v1/jobs/{job_id}/cancel"): (f"/v1/jobs/{ns.job}/cancel", None, {200}),
        ("GET", "/v1/jobs/{job_id}/results"): (f"/v1/jobs/{ns.job}/results", None, {200}),
        ("GET", "/v1/workflows"): ("/v1/workflows", None, {200}),
        ("POST", "/v1/workflows"): ("/v1/workflows", {"name": f"w{time.monotonic_ns()}", "models": ns.names[:1]},
                                    {201}),
        ("GET", "/v1/workflows/{name}"): ("/v1/workflows/first", None, {200}),
        ("POST", "/v1/workflows/{name}/predict"): ("/v1/workflows/first/predict", {"paths": [astronaut]}, {200}),
        ("POST", "/v1/search/similar"): ("/v1/search/similar", {"photo_id": pid, "k": 2}, search_ok),
        ("POST", "/v1/search/text"): ("/v1/search/text", {"query": "a cat", "k": 2}, search_ok),
        ("GET", "/v1/photos/{photo_id}"): (f"/v1/photos/{pid}", None, {200}),
        ("GET", "/v1/photos"): (f"/v1/photos?path={astronaut}", None, {200}),
        ("GET", "/v1/models"): ("/v1/models", None, {200}),
        ("POST", "/v1/models"): ("/v1/models", {"name": f"c{time.monotonic_ns()}", "examples": [pid]},
                                 {201} if ns.has_embedding else {501}),
        ("PATCH", "/v1/models/{name}"): (f"/v1/models/{ns.names[0]}", {"weight": None}, {200}),
        ("GET", "/v1/keys"): ("/v1/keys", None, {200}),
        ("POST", "/v1/keys"): ("/v1/keys", {"scopes": ["search"], "note": "from the matrix"}, {201}),
        ("POST", "/v1/signals"): ("/v1/signals", {"photos": [{"path": astronaut, "rating": 3}]}, {200}),
        ("GET", "/v1/signals"): (f"/v1/signals?path={astronaut}", None, {200}),
        ("POST", "/v1/review"): ("/v1/review", {"paths": [astronaut]}, {200, 409}),  # 409: judged, not written
        ("POST", "/v1/review/choices"): ("/v1/review/choices", {"paths": [astronaut]}, {200}),
    }
    url, body, ok = table[(method, path)]
    return method, url, body, ok


def send(ns, key, method, url, body):
    c = client(ns, key)
    return c.request(method, url, json.dumps(body).encode() if body is not None else None,
                     {"Content-Type": "application/json"} if body is not None else None)


GATED = [r for r in ROUTES if r.scope is not PUBLIC]


@pytest.fixture
def matrix(ns):
    """The examples make concepts (which join every later predict): none may outlive its test."""
    yield ns
    ns.daemon.store.run("DELETE FROM concepts")


def test_every_route_has_an_example_request(ns):
    for r in ROUTES:
        example(ns, r.method, r.path)  # a route added without an example fails here, not silently


@pytest.mark.parametrize("route", GATED, ids=[f"{r.method} {r.path}" for r in GATED])
def test_every_gated_route_refuses_a_request_without_a_valid_key(matrix, route):
    ns = matrix
    method, url, body, _ = example(ns, route.method, route.path)
    is_error(send(ns, None, method, url, body), 401, "unauthorized")
    is_error(send(ns, "kp_" + "x" * 43, method, url, body), 401, "unauthorized")


@pytest.mark.parametrize("route", [r for r in GATED if r.scope != ANY_KEY],
                         ids=[f"{r.method} {r.path}" for r in GATED if r.scope != ANY_KEY])
def test_every_route_refuses_a_key_lacking_its_scope(matrix, route):
    ns = matrix
    method, url, body, _ = example(ns, route.method, route.path)
    r = send(ns, ns.others[route.scope], method, url, body)
    is_error(r, 403, "forbidden")
    assert route.scope in r.json()["error"]["message"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_every_route_serves_a_key_holding_only_its_scope(matrix, route):
    ns = matrix
    method, url, body, ok = example(ns, route.method, route.path)
    key = None if route.scope is PUBLIC else ns.scoped["predict"] if route.scope == ANY_KEY else ns.scoped[route.scope]
    r = send(ns, key, method, url, body)
    assert r.status in ok, r


def test_health_needs_no_key_and_reveals_no_paths(ns):
    r = client(ns).get("/health")
    assert r.status == 200
    h = r.json()
    assert h["status"] == "ok" and {"jobs", "watch"} <= set(h["queue"]) and h["providers"]
    assert [m["name"] for m in h["models"]] == ns.names
    assert str(ns.tmp) not in r.body.decode() and "/" not in json.dumps(h["models"])


def test_a_client_dropped_without_closing_hangs_up_its_connection(ns):
    import gc
    import warnings

    with Client(ns.url) as c:  # closed on leaving the block
        assert c.get("/health").status == 200
    assert c._conn is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert client(ns).get("/health").status == 200  # a one-off call: the client is dropped at once
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_a_stopped_server_hangs_up_on_its_open_connections(tmp_path):
    import http.client

    daemon = Daemon(Settings(catalog=tmp_path / "c.db", workers=1), DaemonSettings(port=0, warm_up=False),
                    start_workers=False)
    server = Server(daemon, port=0).start()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        assert r.status == 200 and r.read()  # a keep-alive connection, left open by the client
        server.stop()
        conn.sock.settimeout(5)
        assert conn.sock.recv(1) == b""  # the server closed it, rather than leave the client waiting
    finally:
        conn.close()


def test_openapi_document_describes_every_route(ns):
    doc = client(ns).get("/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        assert str(r.status) in op["responses"]
        if r.scope is not PUBLIC:
            assert {"401", "403"} <= set(op["responses"]) and op["security"]
    # Each schema is named as its class is, so a client generated from the document gets readable type names; two
    # classes of one name come out as "keepers__sidecar__schemas__X__1" and "__2".
    assert all(name.isidentifier() and "__" not in name for name in doc["components"]["schemas"])


# --- keys -------------------------------------------------------------------------------------------------------


def test_a_revoked_key_is_refused_from_then_on(ns):
    admin = client(ns, ns.scoped["keys:admin"])
    made = admin.post("/v1/keys", {"scopes": ["predict"], "note": "laptop"})
    assert made.status == 201 and made.json()["key"].startswith("kp_")
    token, key_id = made.json()["key"], made.json()["id"]
    assert client(ns, token).get("/v1/models").status == 200
    revoked = admin.delete(f"/v1/keys/{key_id}")
    assert revoked.status == 200 and revoked.json()["revoked_at"]
    for method, url, body in (("GET", "/v1/models", None), ("POST", "/v1/predict",
                                                           {"paths": [str(ns.photos["coffee"])]})):
        r = send(ns, token, method, url, body)
        is_error(r, 401, "key_revoked")  # said as such: a script asks for a new key instead of hunting a typo
        assert "revoked" in r.json()["error"]["message"]


def test_keys_are_stored_hashed_and_listed_without_their_secret(ns):
    rows = ns.daemon.store.all("SELECT * FROM keys")
    stored = json.dumps([dict(r) for r in rows])
    assert ns.full_a not in stored and ns.full_a[3:] not in stored
    listed = client(ns, ns.full_a).get("/v1/keys")
    assert listed.status == 200 and ns.full_a not in listed.body.decode()
    assert all("key" not in k for k in listed.json()["keys"])


def test_a_key_cannot_revoke_itself_nor_another_applications_key(ns):
    me = client(ns, ns.full_a).get("/v1/me").json()["key"]["id"]
    is_error(client(ns, ns.full_a).delete(f"/v1/keys/{me}"), 409, "conflict")
    b_id = client(ns, ns.full_b).get("/v1/me").json()["key"]["id"]
    is_error(client(ns, ns.full_a).delete(f"/v1/keys/{b_id}"), 404, "not_found")
    assert client(ns, ns.full_b).get("/v1/me").status == 200


def test_usage_counts_inputs_times_models_per_key(ns):
    key_id, token = auth.create_key(ns.daemon.store, ns.daemon.store.app("alpha")["id"], ["predict"])
    c = client(ns, token)
    paths = [str(ns.photos["astronaut"]), str(ns.photos["chelsea"])]
    r = c.post("/v1/predict", {"paths": paths, "models": ns.names[:2]})
    assert r.status == 200 and r.json()["operations"] == 2 * len(ns.names[:2])
    r2 = c.post("/v1/predict", {"paths": paths[:1]})
    assert r2.json()["operations"] == len(ns.names)
    usage = c.get("/v1/me").json()["key"]  # as it stood before this request
    assert usage["requests"] == 2 and usage["operations"] == 2 * len(ns.names[:2]) + len(ns.names)
    assert c.get("/v1/me").json()["key"]["requests"] == 3


# --- path safety and limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["{a}/../outside/secret.jpg", "{a}/shoot/../astronaut.jpg", "{outside}/secret.jpg",
                                  "/etc/passwd", "relative/astronaut.jpg", "{a}/escape.jpg"])
def test_paths_outside_the_roots_are_refused_before_anything_is_read(ns, path):
    p = path.format(a=ns.a, outside=ns.outside)
    for url, body in (("/v1/predict", {"paths": [str(ns.photos["coffee"]), p]}), ("/v1/jobs", {"paths": [p]}),
                      ("/v1/workflows/first/predict", {"paths": [p]})):
        r = client(ns, ns.full_a).post(url, body)
        is_error(r, 403, "path_refused")
        assert "secret" not in r.body.decode().replace(p, "") and "root:" not in r.body.decode()
    is_error(client(ns, ns.full_a).get(f"/v1/photos?path={p}"), 403)


def test_a_symlink_in_a_walked_folder_is_not_followed_out_of_the_roots(ns):
    c = client(ns, ns.full_a)
    job = c.post("/v1/jobs", {"paths": [str(ns.a / "shoot")]}).json()
    done = wait_job(c, job["id"])
    assert done["state"] == "done" and done["total"] == 12
    res = c.get(f"/v1/jobs/{job['id']}/results").json()["results"]
    escape = [r for r in res if r["path"].endswith("escape.jpg")]
    assert escape and escape[0]["error_code"] == "path_refused" and not escape[0]["score"]
    assert "outside" in escape[0]["error"]


def test_another_applications_key_cannot_read_this_ones_photos_or_results(ns):
    b = client(ns, ns.full_b)
    astronaut = str(ns.photos["astronaut"])
    is_error(b.post("/v1/predict", {"paths": [astronaut]}), 403, "path_refused")
    is_error(b.get(f"/v1/photos/{ns.ids[astronaut]}"), 404, "not_found")
    is_error(b.get(f"/v1/jobs/{ns.job}"), 404)
    is_error(b.get(f"/v1/jobs/{ns.job}/results"), 404)
    is_error(b.get("/v1/workflows/first"), 404)
    assert all(j["id"] != ns.job for j in b.get("/v1/jobs").json()["jobs"])
    own = b.post("/v1/predict", {"paths": [str(ns.b_photo)]}).json()["results"][0]
    is_error(client(ns, ns.full_a).get(f"/v1/photos/{own['photo_id']}"), 404)


def test_an_upload_over_the_size_limit_is_refused_with_413(ns):
    big = os.urandom(MAX_UPLOAD + 10_000)
    is_error(client(ns, ns.full_a).upload("/v1/predict", [("big.jpg", big)]), 413, "payload_too_large")
    assert client(ns).get("/health").status == 200


def test_a_body_sent_as_json_that_is_not_json_says_where_it_breaks(ns):
    c = client(ns, ns.full_a)
    broken = c.request("POST", "/v1/predict", b'{"paths": [', {"Content-Type": "application/json"})
    is_error(broken, 400, "bad_request")
    # was "expected a JSON object body (Content-Type: application/json)", the header the request had sent
    assert broken.json()["error"]["message"].startswith("the body is not valid JSON: Expecting value: line 1 column 12")
    not_object = c.request("POST", "/v1/predict", b"[]", {"Content-Type": "application/json"})
    assert not_object.json()["error"]["message"].startswith("expected a JSON object body")


def test_a_body_far_over_the_size_limit_is_refused_with_413_in_the_api_error_shape(ns):
    import socket
    from urllib.parse import urlsplit

    # refused by the HTTP server from its Content-Length, before the app sees it: was text/plain "Request Entity
    # Too Large ... exceeds max_body of 1565536 (generated by keepers)"
    u = urlsplit(ns.url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(f"POST /v1/predict HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {ns.full_a}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {MAX_UPLOAD + 500_000}\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"Content-Type: application/json" in head, answer
    assert json.loads(body) == {"error": {"code": "payload_too_large",
                                          "message": f"the request is over the {MAX_UPLOAD} byte limit"}}
    assert client(ns).get("/health").status == 200


def test_an_upload_is_predicted_and_not_kept_in_the_library(ns):
    r = client(ns, ns.full_a).upload("/v1/predict", [("cat.jpg", jpeg_bytes(sample("chelsea")))])
    assert r.status == 200, r
    [res] = r.json()["results"]
    assert res["input"] == "cat.jpg" and res["error"] is None and res["photo_id"] is None
    assert 1 <= res["score"] <= 10 and set(res["models"]) == set(ns.names)


def test_a_bad_image_fails_only_its_own_input(ns):
    c = client(ns, ns.full_a)
    r = c.post("/v1/predict", {"paths": [str(ns.good), str(ns.bad), str(ns.a / "missing.jpg")]})
    assert r.status == 200
    good, bad, missing = r.json()["results"]
    assert good["error"] is None and good["verdict"] in ("good", "bad")
    assert bad["error_code"] == "read_error" and "truncated" in bad["error"] and bad["verdict"] is None
    assert missing["error_code"] == "not_found"
    ups = c.upload("/v1/predict", [("ok.jpg", jpeg_bytes(sample("coffee"))), ("junk.jpg", b"not an image at all"),
                                   ("huge.jpg", jpeg_bytes(np.zeros((1100, 1000, 3), np.uint8)))])
    ok, junk, huge = ups.json()["results"]
    assert ok["error"] is None and junk["error_code"] == "read_error"
    assert "limit" in huge["error"]  # 1.1 MP over the daemon's 1 MP pixel limit
    assert client(ns).get("/health").status == 200


# --- predict, workflows, models, results --------------------------------------------------------------------------


def test_predict_returns_each_models_output_and_the_verdict(ns):
    r = client(ns, ns.scoped["predict"]).post("/v1/predict", {"paths": [str(ns.photos["chelsea"])]})
    [res] = r.json()["results"]
    assert set(res["models"]) == set(ns.names)
    for out in res["models"].values():
        assert {"version", "score", "weight", "reasons", "features", "data", "keywords"} <= set(out)
    assert 1 <= res["score"] <= 10 and res["stars"] in range(-1, 6) and res["verdict"] in ("good", "bad")


def test_predict_can_write_the_sidecar(ns):
    from keepers.core.io.xmp import read_sidecar

    r = client(ns, ns.full_a).post("/v1/predict", {"paths": [str(ns.photos["coffee"])], "write": True})
    [res] = r.json()["results"]
    assert res["error"] is None and res["sidecars"]
    side = read_sidecar(res["sidecars"][0])
    assert side["score"] == pytest.approx(res["score"], abs=0.01) and side["stars"] == res["stars"]


def test_a_workflow_runs_only_its_models_in_one_response(ns):
    c = client(ns, ns.scoped["workflows"])
    chosen = ns.names[-2:]
    assert c.post("/v1/workflows", {"name": "pair", "models": chosen}).status == 201
    is_error(c.post("/v1/workflows", {"name": "pair", "models": chosen}), 409)
    is_error(c.post("/v1/workflows", {"name": "ghost", "models": ["no-such-model"]}), 404, "unknown_model")
    assert "pair" in [w["name"] for w in c.get("/v1/workflows").json()["workflows"]]
    r = client(ns, ns.scoped["predict"]).post("/v1/workflows/pair/predict",
                                              {"paths": [str(ns.photos["astronaut"]), str(ns.photos["coffee"])]})
    assert r.status == 200 and r.json()["operations"] == 2 * len(chosen)
    for res in r.json()["results"]:
        assert list(res["models"]) == chosen and res["verdict"]
    up = client(ns, ns.full_a).upload("/v1/workflows/pair/predict", [("c.jpg", jpeg_bytes(sample("chelsea")))])
    assert list(up.json()["results"][0]["models"]) == chosen


def test_models_patch_is_this_applications_own_and_never_changes_the_verdict(ns):
    c = client(ns, ns.full_a)
    path = str(ns.photos["coffee"])
    before = c.post("/v1/predict", {"paths": [path]}).json()["results"][0]
    target = "sharpness"
    try:
        patched = client(ns, ns.scoped["models:patch"]).patch(f"/v1/models/{target}", {"weight": 0})
        assert patched.status == 200 and patched.json()["weight"] == 0
        after = c.post("/v1/predict", {"paths": [path]}).json()["results"][0]
        # the verdict is the judging step's, the same as `keepers cull` writes into the sidecar
        assert (after["score"], after["verdict"], after["stars"]) == (before["score"], before["verdict"],
                                                                     before["stars"])
        assert {m["name"]: m for m in client(ns, ns.full_b).get("/v1/models").json()["models"]}[target]["weight"] is None
        off = client(ns, ns.scoped["models:patch"]).patch(f"/v1/models/{target}", {"enabled": False}).json()
        assert off["enabled"] is False and off["weight"] == 0
        hidden = c.post("/v1/predict", {"paths": [path]}).json()
        assert target not in hidden["results"][0]["models"] and hidden["operations"] == len(ns.names) - 1
        theirs = client(ns, ns.full_b).post("/v1/predict", {"paths": [str(ns.b_photo)]}).json()["results"][0]
        assert target in theirs["models"]
    finally:
        ns.daemon.store.run("DELETE FROM model_settings WHERE model = ?", (target,))
    is_error(client(ns, ns.full_a).patch("/v1/models/nope", {"weight": 1}), 404)


def test_a_concept_tags_photos_like_its_examples(ns):
    if not ns.has_embedding:
        pytest.skip("no embedding analyzer installed: concepts need one")
    c = client(ns, ns.full_a)
    cat = ns.ids[str(ns.photos["chelsea"])]
    made = client(ns, ns.scoped["models:add"]).post("/v1/models", {"name": "my-cat", "examples": [cat],
                                                                   "threshold": 0.9})
    assert made.status == 201 and made.json()["kind"] == "concept"
    res = c.post("/v1/predict", {"paths": [str(ns.photos["chelsea"]), str(ns.photos["coffee"])],
                                 "models": ["my-cat"]}).json()["results"]
    same, other = (r["models"]["my-cat"] for r in res)
    assert same["score"] > 0.99 and "concept|my-cat" in same["keywords"]
    assert other["score"] < same["score"] and not other["keywords"]
    b_cat = client(ns, ns.full_b).post("/v1/predict", {"paths": [str(ns.b_photo)]}).json()["results"][0]["photo_id"]
    is_error(c.post("/v1/models", {"name": "theirs", "examples": [b_cat]}), 404)
    assert client(ns, ns.scoped["models:add"]).delete("/v1/models/my-cat").status == 200


def test_photo_results_are_served_by_id_and_by_path(ns):
    c = client(ns, ns.full_a)
    path = str(ns.photos["astronaut"])
    by_id = c.get(f"/v1/photos/{ns.ids[path]}").json()
    by_path = c.get(f"/v1/photos?path={path}").json()
    assert by_id == by_path and by_id["path"] == path and by_id["score"] >= 1
    assert set(by_id["models"]) == set(ns.names)
    is_error(c.get("/v1/photos/999999"), 404)


# --- one data path, one result shape ------------------------------------------------------------------------------


def cull_record(path: Path, tmp: Path) -> dict:
    """The `keepers cull --json` record of `path`, through the command line's own Cull and a catalog of its own."""
    from keepers.core.io.catalog import Catalog
    from keepers.core.commands.cull import record
    from keepers.core.pipeline import Cull

    catalog = Catalog(tmp / f"cli-{time.monotonic_ns()}.db")
    try:
        [r] = Cull(Settings(catalog=catalog.path, workers=1, max_pixels=MAX_PIXELS), catalog, dry_run=True).run(
            [str(path)])
    finally:
        catalog.close()
    return record(r)


def test_a_workflows_verdict_is_the_one_keepers_cull_gives_the_photo(ns):
    # a workflow of a few quick models used to be judged by those alone: a blurred photo came back `good` while its
    # own reason said the blur had taken 4.6 of its points
    import cv2

    photo = jpeg(ns.a / "workflow" / "soft.jpg", cv2.GaussianBlur(sample("chelsea"), (0, 0), 4))
    c = client(ns, ns.full_a)
    quick = ["sharpness", "exposure", "noise"]
    assert c.post("/v1/workflows", {"name": "quick", "models": quick}).status == 201
    r = c.post("/v1/workflows/quick/predict", {"paths": [str(photo)]}).json()
    [res] = r["results"]
    assert list(res["models"]) == quick and r["operations"] == len(quick)
    cli = cull_record(photo, ns.tmp)
    for k in ("score", "verdict", "stars", "judged_by", "reasons"):
        assert res[k] == cli[k], k
    assert res["verdict"] == "bad" and res["reasons"][0]["code"] in ("out_of_focus", "motion_blur")


def test_predict_jobs_and_keepers_cull_give_one_result_shape(ns):
    c = client(ns, ns.full_a)
    folder = ns.a / "shape"
    good = jpeg(folder / "good.jpg", sample("coffee"))
    (folder / "bad.jpg").write_bytes(good.read_bytes()[:3000])  # truncated
    paths = [str(folder / "good.jpg"), str(folder / "bad.jpg")]
    predicted = {Path(x["path"]).name: x for x in c.post("/v1/predict", {"paths": paths}).json()["results"]}
    job = wait_job(c, c.post("/v1/jobs", {"paths": [str(folder)]}).json()["id"])
    jobbed = {Path(x["path"]).name: x for x in c.get(f"/v1/jobs/{job['id']}/results").json()["results"]}
    for name in ("good.jpg", "bad.jpg"):
        cli = cull_record(folder / name, ns.tmp)
        assert set(predicted[name]) == set(jobbed[name]) and set(cli) <= set(predicted[name]), name
        for k in cli:  # the CLI's fields mean the same in every answer
            assert predicted[name][k] == jobbed[name][k] == cli[k], (name, k)
    assert predicted["bad.jpg"]["error_code"] == "read_error" and "truncated" in predicted["bad.jpg"]["error"]
    assert predicted["good.jpg"]["models"] == jobbed["good.jpg"]["models"]


def test_a_lightroom_daemon_names_no_sidecar_lightroom_would_ignore(tmp_path):
    # Lightroom reads a JPEG's own XMP, never a sidecar beside it: predict used to answer `cat.xmp` for it, a file the
    # write would not write and Lightroom would not read; the photo is the plug-in's to apply, as `keepers cull` says
    photo = jpeg(tmp_path / "shoot" / "cat.jpg", sample("chelsea"))
    daemon = Daemon(Settings(catalog=tmp_path / "c.db", workers=1, max_pixels=MAX_PIXELS, host="lightroom"),
                    DaemonSettings(port=0, warm_up=False))
    _, _, token = auth.create_app(daemon.store, "lightroom", [str(tmp_path / "shoot")])
    server = Server(daemon, port=0).start()
    try:
        [r] = Client(server.url, token).post("/v1/predict", {"paths": [str(photo)]}).json()["results"]
    finally:
        server.stop()
    assert r["verdict"] is not None and r["sidecars"] == [] and r["via_plugin"] == [str(photo)]
    assert r["embedded"] == [] and not (photo.parent / "cat.xmp").exists()


def test_a_generic_daemon_names_the_sidecar_it_would_write_and_nothing_via_a_plugin(ns):
    [r] = client(ns, ns.full_a).post("/v1/predict", {"paths": [str(ns.photos["coffee"])]}).json()["results"]
    assert r["sidecars"] == [str(ns.photos["coffee"]) + ".xmp"] and r["via_plugin"] == [] and r["embedded"] == []


def test_an_input_that_cannot_be_read_costs_no_operation(ns):
    key_id, token = auth.create_key(ns.daemon.store, ns.daemon.store.app("alpha")["id"], ["predict"])
    c = client(ns, token)
    r = c.post("/v1/predict", {"paths": [str(ns.a / "missing.jpg"), str(ns.bad), str(ns.a / "shoot")]})
    assert [x["error_code"] for x in r.json()["results"]] == ["not_found", "read_error", "not_a_file"]
    assert r.json()["operations"] == 0 and c.get("/v1/me").json()["key"]["operations"] == 0


def test_tags_come_back_as_keywords_not_classifier_codes(ns):
    if "tags" not in ns.names:
        pytest.skip("the tags analyzer is not installed")
    r = client(ns, ns.full_a).post("/v1/predict", {"paths": [str(ns.photos["chelsea"])], "models": ["tags"]})
    top = r.json()["results"][0]["models"]["tags"]["data"]["top"]
    assert top and not [label for label, _ in top if re.fullmatch(r"n\d{8}", label)], top
    assert top[0][0].startswith("animal|cat|"), top  # the class, filed as a DAM files it: animal|cat|tabby


def test_a_photo_lookup_gives_the_judgement_its_sidecar_holds_group_included(ns):
    from keepers.core.io.xmp import read_sidecar

    c = client(ns, ns.full_a)
    folder = ns.a / "burst"
    for i in range(3):  # three frames of one scene, a few pixels apart
        jpeg(folder / f"frame_{i}.jpg", sample("astronaut")[i * 4:i * 4 + 480, i * 4:i * 4 + 480])
    job = wait_job(c, c.post("/v1/jobs", {"paths": [str(folder)], "write": True}).json()["id"])
    results = c.get(f"/v1/jobs/{job['id']}/results").json()["results"]
    grouped = [x for x in results if x["group"]]
    assert grouped, results
    for x in grouped:
        looked = c.get(f"/v1/photos/{x['photo_id']}").json()
        side = read_sidecar(x["sidecars"][0])
        assert (looked["group"], looked["pick"], looked["score"]) == (x["group"], x["pick"], x["score"])
        assert side["group"] == x["group"]


# --- search -----------------------------------------------------------------------------------------------------

needs_search = pytest.mark.skipif(not HAVE_SIMILARITY, reason="keepers.core.search.similarity (issue 6) is not installed")


@needs_search
def test_similar_finds_a_crop_of_the_same_photo_first_and_only_in_the_keys_library(ns):
    c = client(ns, ns.scoped["search"])
    assert client(ns, ns.full_b).post("/v1/predict", {"paths": [str(ns.b_photo)]}).status == 200
    assert client(ns, ns.full_a).post("/v1/predict", {"paths": [str(ns.crop)]}).status == 200
    cat = str(ns.photos["chelsea"])
    for body in ({"photo_id": ns.ids[cat], "k": 5}, {"path": cat, "k": 5}):
        r = c.post("/v1/search/similar", body)
        assert r.status == 200, r
        hits = r.json()["results"]
        assert hits and hits[0]["path"] == str(ns.crop)
        assert all(h["path"].startswith(str(ns.a)) and h["path"] != cat for h in hits)
    is_error(client(ns, ns.full_b).post("/v1/search/similar", {"photo_id": ns.ids[cat]}), 404)
    is_error(c.post("/v1/search/similar", {"k": 3}), 400)


@needs_search
def test_text_search_returns_only_photos_of_the_keys_library(ns):
    if "tags" not in ns.names:
        pytest.skip("text search ranks photos by the `tags` analyzer's classes, and it is not installed")
    assert client(ns, ns.full_b).post("/v1/predict", {"paths": [str(ns.b_photo)]}).status == 200
    r = client(ns, ns.scoped["search"]).post("/v1/search/text", {"query": "a cat", "k": 10})
    assert r.status == 200, r
    hits = r.json()["results"]
    assert hits and all(h["path"].startswith(str(ns.a)) for h in hits)
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    assert Path(hits[0]["path"]).name.startswith("chelsea")  # the cat photos come first
    is_error(client(ns, ns.scoped["search"]).post("/v1/search/text", {"query": "   "}), 400)


# --- jobs -------------------------------------------------------------------------------------------------------


def wait_job(c: Client, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        j = c.get(f"/v1/jobs/{job_id}").json()
        if j["state"] not in ("queued", "running"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {j}")


def test_the_daemon_opens_the_review_page_on_a_written_shoot_and_only_with_its_link(ns):
    import http.cookiejar
    import urllib.error
    import urllib.request

    c = client(ns, ns.full_a)
    shoot = ns.a / "to_review"
    for n in ("chelsea", "coffee"):
        jpeg(shoot / f"{n}.jpg", sample(n))
    refused = c.post("/v1/review", {"paths": [str(shoot)]})  # judged by nobody yet: say what to do, open nothing
    is_error(refused, 409, "not_judged")
    assert "POST /v1/jobs" in refused.json()["error"]["message"]
    assert wait_job(c, c.post("/v1/jobs", {"paths": [str(shoot)], "write": True}).json()["id"])["state"] == "done"
    opened = c.post("/v1/review", {"paths": [str(shoot)]})
    assert opened.status == 200 and opened.json()["photos"] == 2, opened.json()
    url = opened.json()["url"]
    assert url.startswith(ns.url + "/review/?token=")
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(url, timeout=30) as page:  # the link's token becomes the page's cookie
        assert page.status == 200 and b"<html" in page.read().lower()
    with browser.open(ns.url + "/review/api/photos", timeout=30) as r:
        shown = json.loads(r.read())
    shown = shown["photos"] if isinstance(shown, dict) else shown
    assert sorted(Path(p["path"]).name for p in shown) == ["chelsea.jpg", "coffee.jpg"]
    with pytest.raises(urllib.error.HTTPError) as no_link:  # the page without the link's token
        urllib.request.urlopen(ns.url + "/review/api/photos", timeout=30)
    assert no_link.value.code == 401
    is_error(client(ns, ns.full_b).post("/v1/review", {"paths": [str(shoot)]}), 403, "path_refused")  # not b's


def test_a_review_that_cannot_open_names_the_photo_that_is_not_ready_and_why(ns):
    import subprocess

    c = client(ns, ns.full_a)
    shoot, locked = ns.a / "review_named", ns.a / "review_locked"
    jpeg(shoot / "chelsea.jpg", sample("chelsea"))
    jpeg(locked / "coffee.jpg", sample("coffee"))
    assert wait_job(c, c.post("/v1/jobs", {"paths": [str(shoot)], "write": True}).json()["id"])["state"] == "done"
    jpeg(shoot / "late.jpg", sample("rocket"))  # arrived after the job
    refused = c.post("/v1/review", {"paths": [str(shoot)]})
    is_error(refused, 409, "not_judged")
    # was "some of these photos are new, changed or not written since they were judged": which, in thousands?
    assert "late.jpg: not judged yet" in refused.json()["error"]["message"], refused.json()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(locked)]).returncode:
        pytest.skip("chattr +i is not available here")
    try:  # a folder no sidecar can be written in (read-only even to root): the job asked for never makes it ready
        assert wait_job(c, c.post("/v1/jobs", {"paths": [str(locked)], "write": True}).json()["id"])["state"] == "done"
        refused = c.post("/v1/review", {"paths": [str(locked)]})
    finally:
        subprocess.run(["chattr", "-i", str(locked)])
    is_error(refused, 409, "not_judged")
    assert "coffee.jpg: its sidecar has not been written" in refused.json()["error"]["message"], refused.json()


def test_a_job_runs_a_folder_through_cull_and_keeps_its_results(ns):
    c = client(ns, ns.full_a)
    r = c.post("/v1/jobs", {"paths": [str(ns.a / "batch")], "write": True})
    assert r.status == 202 and r.json()["state"] in ("queued", "running")
    j = wait_job(c, r.json()["id"])
    assert j["state"] == "done" and j["total"] == 2 and j["done"] == 2 and j["errors"] == 1
    res = {Path(x["path"]).name: x for x in c.get(f"/v1/jobs/{j['id']}/results").json()["results"]}
    assert res["good.jpg"]["error"] is None and res["good.jpg"]["score"] >= 1 and res["good.jpg"]["photo_id"]
    assert Path(res["good.jpg"]["sidecars"][0]).is_file()
    assert res["bad.jpg"]["error_code"] == "read_error" and "truncated" in res["bad.jpg"]["error"]


def test_a_job_can_be_cancelled_while_queued_or_running(ns):
    c = client(ns, ns.full_a)
    for i in range(12):  # photos never analysed: a job over photos the catalog knows is over before a cancel
        jpeg(ns.a / "to_cancel" / f"frame_{i:02d}.jpg", sample("rocket")[i * 7:i * 7 + 300, i * 9:i * 9 + 400])
    many = c.post("/v1/jobs", {"paths": [str(ns.a / "to_cancel"), str(ns.a / "batch")]}).json()
    queued = c.post("/v1/jobs", {"paths": [str(ns.photos["coffee"])]}).json()
    assert c.post(f"/v1/jobs/{queued['id']}/cancel").json()["state"] == "cancelled"
    c.post(f"/v1/jobs/{many['id']}/cancel")
    assert wait_job(c, many["id"])["state"] == "cancelled"
    assert wait_job(c, queued["id"])["state"] == "cancelled"
    is_error(c.post("/v1/jobs/0123456789abcdef/cancel"), 404)



def _exiftool_children() -> int:
    """exiftool processes this process started (the daemon runs in this test process)."""
    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # ended while listed
            continue
        n += "exiftool" in comm and int(rest.split()[1]) == os.getpid()
    return n


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes through /proc")
def test_a_daemon_running_job_after_job_keeps_no_exiftool_process_of_a_finished_job(ns):
    c = client(ns, ns.full_a)
    counts = []
    for i in range(3):  # each job analyses a new photo and writes its sidecar from a writer thread of its own
        jpeg(ns.a / f"jobs_{i}" / "frame.jpg", sample("coffee")[i * 20:, i * 30:])
        j = wait_job(c, c.post("/v1/jobs", {"paths": [str(ns.a / f"jobs_{i}")], "write": True}).json()["id"])
        [res] = c.get(f"/v1/jobs/{j['id']}/results").json()["results"]
        assert j["state"] == "done" and Path(res["sidecars"][0]).is_file()
        counts.append(_exiftool_children())
    assert counts[-1] <= counts[0], counts  # one more per job before: 100 jobs, 100 idle perl processes

# --- error shape ------------------------------------------------------------------------------------------------


def test_every_error_has_one_json_shape(ns):
    c = client(ns, ns.full_a)
    is_error(c.get("/v1/nothing-here"), 404, "not_found")
    is_error(c.request("PUT", "/v1/predict"), 405)
    is_error(c.request("POST", "/v1/predict", b"{not json", {"Content-Type": "application/json"}), 400, "bad_request")
    is_error(c.post("/v1/predict", {"paths": "not a list"}), 400, "bad_request")
    is_error(c.post("/v1/predict", {"paths": [str(ns.good)], "models": ["no-such-model"]}), 404, "unknown_model")
    is_error(c.upload("/v1/predict", []), 400)


# --- real shoot sizes: big jobs, paged results, the caller's paths ------------------------------------------------


def test_a_job_takes_more_than_a_predict_and_its_results_come_a_page_at_a_time(ns):
    c = client(ns, ns.full_a)
    folder = ns.a / "wedding"
    folder.mkdir()
    src = [jpeg_bytes(sample(n)[k * 20:k * 20 + 200, k * 30:k * 30 + 300]) for n in ("astronaut", "chelsea", "coffee")
           for k in range(5)]
    (ns.a / "wedding_originals").mkdir()
    for i, data in enumerate(src):  # analysed once: their copies are then adopted from the catalog by content hash
        (ns.a / "wedding_originals" / f"{i}.jpg").write_bytes(data)
    originals = [str(ns.a / "wedding_originals" / f"{i}.jpg") for i in range(len(src))]
    assert c.post("/v1/predict", {"paths": originals}).status == 200
    paths = []
    for i in range(1500):
        (folder / f"IMG_{i:04d}.jpg").write_bytes(src[i % len(src)])
        paths.append(str(folder / f"IMG_{i:04d}.jpg"))
    is_error(c.post("/v1/predict", {"paths": paths}), 400, "bad_request")  # predict keeps to max_inputs
    is_error(c.post("/v1/jobs", {"paths": ["/p"] * 20001}), 400, "bad_request")  # over a job's 20,000
    job = c.post("/v1/jobs", {"paths": paths})
    assert job.status == 202, job
    seen, end = set(), time.monotonic() + 300
    while (j := c.get(f"/v1/jobs/{job.json()['id']}").json())["state"] in ("queued", "running"):
        seen.add(j["done"])
        assert time.monotonic() < end, j
        time.sleep(0.05)
    assert j["state"] == "done" and j["total"] == j["done"] == 1500 and j["errors"] == 0
    assert [d for d in seen if 0 < d < 1500], f"no progress was shown between 0 and the end: {sorted(seen)}"
    pages, offset = [], 0
    while offset is not None:
        page = c.get(f"/v1/jobs/{j['id']}/results?offset={offset}&limit=1000").json()
        assert page["total"] == 1500 and page["offset"] == offset
        pages.append(page["results"])
        offset = page["next_offset"]
    assert [len(p) for p in pages] == [1000, 500]
    assert sorted(r["input"] for p in pages for r in p) == sorted(paths)
    assert all(r["verdict"] and r["path"] == r["input"] for p in pages for r in p)
    whole = c.get(f"/v1/jobs/{j['id']}/results").json()  # no page asked: all of them, as before
    assert whole["results"] == pages[0] + pages[1] and whole["next_offset"] is None
    is_error(c.get(f"/v1/jobs/{j['id']}/results?limit=1001"), 400, "bad_request")
    is_error(c.get(f"/v1/jobs/{j['id']}/results?offset=minus"), 400, "bad_request")


def test_every_answer_gives_each_path_in_the_form_it_was_sent_through_a_symlinked_library(ns):
    c = client(ns, ns.full_a)
    link = ns.tmp / "library-through-a-link"  # Lightroom's library path; the key's root is the real folder
    link.symlink_to(ns.a, target_is_directory=True)
    chelsea = str(link / "chelsea.jpg")
    [r] = c.post("/v1/predict", {"paths": [chelsea], "write": True}).json()["results"]
    assert r["input"] == r["path"] == chelsea and r["files"] == [chelsea]
    assert r["sidecars"] and all(s.startswith(str(link) + os.sep) for s in r["sidecars"])
    assert Path(r["sidecars"][0]).resolve().parent == ns.a  # the same sidecar, named as the caller names it
    looked = c.get(f"/v1/photos?path={chelsea}").json()
    assert looked["path"] == chelsea and looked["photo_id"] == ns.ids[str(ns.photos["chelsea"])]
    job = wait_job(c, c.post("/v1/jobs", {"paths": [str(link / "batch"), str(link / "astronaut.jpg")]}).json()["id"])
    res = c.get(f"/v1/jobs/{job['id']}/results").json()["results"]
    assert sorted(x["path"] for x in res) == sorted([str(link / "batch" / "good.jpg"), str(link / "batch" / "bad.jpg"),
                                                      str(link / "astronaut.jpg")])
    assert all(x["input"] == x["path"] and x["files"] == [x["path"]] for x in res)
    if HAVE_SIMILARITY:
        hits = c.post("/v1/search/similar", {"path": chelsea, "k": 5}).json()["results"]
        assert hits and all(h["path"].startswith(str(link) + os.sep) for h in hits), hits


def test_a_file_sent_twice_in_two_forms_is_answered_in_each(ns):
    c = client(ns, ns.full_a)
    link = ns.tmp / "second-form"
    link.symlink_to(ns.a, target_is_directory=True)
    forms = [str(ns.photos["coffee"]), str(link / "coffee.jpg")]
    job = wait_job(c, c.post("/v1/jobs", {"paths": forms}).json()["id"])
    res = c.get(f"/v1/jobs/{job['id']}/results").json()["results"]
    assert sorted(x["input"] for x in res) == sorted(forms) and all(x["path"] == x["input"] for x in res)
    assert res[0]["photo_id"] == res[1]["photo_id"] and res[0]["score"] == res[1]["score"]


# --- the photographer's signals -------------------------------------------------------------------------------------


def test_the_photographers_signals_are_stored_replaced_and_kept_to_the_keys_library(ns):
    c = client(ns, ns.full_a)
    cat, offline = str(ns.photos["chelsea"]), str(ns.a / "card" / "IMG_0001.CR3")  # a file on a drive not mounted
    body = {"source": "lightroom", "photos": [
        {"path": cat, "pick": 1, "rating": 4, "label": "Blue", "keywords": ["people|Anna", "places|Norway"]},
        {"path": offline, "pick": -1}]}
    r = c.post("/v1/signals", body)
    # no taste profile of this application follows its signals: none retrains
    assert r.status == 200 and r.json() == {"photos": 2, "signals": 6, "retraining": []}, r
    got = c.get(f"/v1/signals?path={cat}").json()["signals"]
    assert {(s["kind"], s["value"]) for s in got} == {("pick", "1"), ("rating", "4"), ("label", "blue"),
                                                      ("keyword", "people|Anna"), ("keyword", "places|Norway")}
    assert {s["photo_id"] for s in got} == {ns.ids[cat]} and {s["source"] for s in got} == {"lightroom"}
    # the flag taken off and the stars changed since: the photo's signals from Lightroom are replaced
    assert c.post("/v1/signals", {"photos": [{"path": cat, "rating": 2}]}).json() == {"photos": 1, "signals": 1,
                                                                                     "retraining": []}
    assert [(s["kind"], s["value"]) for s in c.get(f"/v1/signals?path={cat}").json()["signals"]] == [("rating", "2")]
    twice = c.post("/v1/signals", {"photos": [{"path": cat, "rating": 1}, {"path": cat, "rating": 3}]}).json()
    assert twice == {"photos": 1, "signals": 1, "retraining": []}  # a photo named twice in one request: its last naming counts
    assert [(s["kind"], s["value"]) for s in c.get(f"/v1/signals?path={cat}").json()["signals"]] == [("rating", "3")]
    assert [(s["kind"], s["photo_id"]) for s in c.get(f"/v1/signals?path={offline}").json()["signals"]] == \
        [("reject", None)]
    is_error(c.post("/v1/signals", {"photos": [{"path": str(ns.secret), "rating": 5}]}), 403, "path_refused")
    is_error(c.post("/v1/signals", {"photos": [{"path": cat, "rating": 6}]}), 400, "bad_request")
    assert client(ns, ns.full_b).get("/v1/signals").json() == {"signals": []}  # another application's key


# --- portable: Windows and macOS paths, tested by their rules here --------------------------------------------------


def test_paths_are_compared_as_windows_compares_them():
    import ntpath

    from keepers.sidecar.paths import inside

    roots = ["C:\\Users\\Ann\\Pictures", "\\\\nas\\photos\\"]
    assert inside("c:\\users\\ann\\PICTURES\\2024\\IMG_1.CR3", roots, ntpath)  # no case on Windows
    assert inside("C:/Users/Ann/Pictures/IMG_1.CR3", roots, ntpath)  # either separator
    assert inside("\\\\NAS\\Photos\\wedding\\a.jpg", roots, ntpath)
    assert not inside("C:\\Users\\Ann\\Pictures2\\a.jpg", roots, ntpath)  # a sibling that starts alike
    assert inside("D:\\anything.jpg", ["D:\\"], ntpath) and not inside("E:\\a.jpg", ["D:\\"], ntpath)


def test_a_mapped_drive_is_answered_in_the_drive_form_it_was_sent_in():
    import ntpath

    from keepers.sidecar.paths import Echo

    # Windows resolves Z:\ (a mapped drive) to the share's UNC path; Lightroom knows its photos as Z:\...
    def realpath(p: str) -> str:
        p = ntpath.normpath(p)
        return "\\\\nas\\photos" + p[2:] if p[:2].lower() == "z:" else p

    echo = Echo(ntpath, realpath)
    echo.add("Z:\\2024\\wedding\\IMG_1.CR3", realpath("Z:\\2024\\wedding\\IMG_1.CR3"))
    assert echo("\\\\nas\\photos\\2024\\wedding\\IMG_1.CR3") == "Z:\\2024\\wedding\\IMG_1.CR3"
    assert echo("\\\\NAS\\Photos\\2024\\wedding\\IMG_1.JPG") == "Z:\\2024\\wedding\\IMG_1.JPG"  # its companion
    assert echo("\\\\nas\\photos\\2023\\IMG_9.CR3") == "Z:\\2023\\IMG_9.CR3"  # a search hit elsewhere on the drive
    assert echo("\\\\other\\share\\x.jpg") == "\\\\other\\share\\x.jpg"  # no form of it was sent: as it is


def test_an_echoed_path_is_one_that_leads_to_the_same_file(tmp_path):
    from keepers.sidecar.paths import Echo

    # /lib/2024 is a link to /archive/2024: their common trailing name does not make /lib/2023 the same as
    # /archive/2023, so a file there is answered as it is, not under a made-up /lib/2023
    (tmp_path / "archive" / "2024").mkdir(parents=True)
    (tmp_path / "archive" / "2023").mkdir()
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "2024").symlink_to(tmp_path / "archive" / "2024", target_is_directory=True)
    (tmp_path / "lib" / "2023").mkdir()  # another folder of the same name
    echo = Echo()
    echo.add(str(tmp_path / "lib" / "2024" / "a.jpg"), str(tmp_path / "archive" / "2024" / "a.jpg"))
    assert echo(str(tmp_path / "archive" / "2024" / "b.jpg")) == str(tmp_path / "lib" / "2024" / "b.jpg")
    assert echo(str(tmp_path / "archive" / "2023" / "c.jpg")) == str(tmp_path / "archive" / "2023" / "c.jpg")


def test_the_daemon_stops_on_ctrl_break_where_windows_has_it():
    import signal

    from keepers.sidecar.cli import stop_signals

    windows = SimpleNamespace(SIGINT=signal.SIGINT, SIGTERM=signal.SIGTERM, SIGBREAK=21)
    posix = SimpleNamespace(SIGINT=signal.SIGINT, SIGTERM=signal.SIGTERM)
    assert stop_signals(windows) == [signal.SIGINT, signal.SIGTERM, 21]
    assert stop_signals(posix) == [signal.SIGINT, signal.SIGTERM]


def test_a_video_in_a_job_is_judged_not_dropped(ns, shared_data):
    c = client(ns, ns.full_a)
    folder = ns.a / "clips"
    folder.mkdir()
    shutil.copy(shared_data / "videos" / "imageio" / "realshort.mp4", folder / "realshort.mp4")
    jpeg(folder / "still.jpg", sample("rocket"))
    job = wait_job(c, c.post("/v1/jobs", {"paths": [str(folder)]}).json()["id"], timeout=300)
    assert job["state"] == "done" and job["total"] == 2, job
    res = {Path(x["path"]).name: x for x in c.get(f"/v1/jobs/{job['id']}/results").json()["results"]}
    assert set(res) == {"realshort.mp4", "still.jpg"}
    clip = res["realshort.mp4"]
    assert clip["error"] is None and clip["video"]["seconds"] and clip["input"] == str(folder / "realshort.mp4")
