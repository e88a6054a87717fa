"""Load test of the daemon: N concurrent clients send predict requests on real photos over HTTP; prints throughput
and p50/p99 latency, and exits 1 on any error.

By default it starts its own `keepers serve` (isolated data dirs, a free port on 127.0.0.1) over a small library of
real photos (../shared/data when present, else scikit-image's samples); the first request per photo analyses it,
every later one is answered from the catalog. `--url/--key` aim it at a running daemon instead (`--photo` paths).

    python tools/load_test.py [--clients 16] [--requests 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from keepers.sidecar.client import Client

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "clean" / "CBSD68"
KEEPERS = str(Path(sys.executable).with_name("keepers"))


def library(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    shared = sorted(SHARED.glob("*.jpg"))[:n] if SHARED.is_dir() else []
    if shared:
        for p in shared:
            shutil.copy(p, folder / p.name)
    else:
        from PIL import Image
        from skimage import data

        for name in ("astronaut", "chelsea", "coffee", "rocket", "camera", "cat")[:n]:
            img = getattr(data, name)()
            img = img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)
            Image.fromarray(img).save(folder / f"{name}.jpg", quality=90)
    return sorted(str(p) for p in folder.glob("*.jpg"))


def start_daemon(tmp: Path, photos_dir: Path) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
    common = ["--catalog", str(tmp / "catalog.db")]
    made = subprocess.run([KEEPERS, "apps", "create", "load", "--root", str(photos_dir), *common],
                          capture_output=True, text=True, env=env, check=True)
    proc = subprocess.Popen([KEEPERS, "serve", "--port", "0", *common], env=env, stderr=subprocess.PIPE, text=True)
    line, end = "", time.monotonic() + 120
    while "daemon on" not in line:
        line = proc.stderr.readline()
        if (not line and proc.poll() is not None) or time.monotonic() > end:
            raise SystemExit(f"the daemon did not start: {line}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep its pipe drained
    return proc, line.split("daemon on ")[1].split()[0], made.stdout.strip()


def run(url: str, key: str, photos: list[str], clients: int, requests: int) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        c = Client(url, key, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            t = time.perf_counter()
            try:
                r = c.post("/v1/predict", {"paths": [photos[i % len(photos)]]})
                ok = r.status == 200 and r.json()["results"][0]["error"] is None
                why = None if ok else f"{r.status} {r.body[:200]!r}"
            except Exception as e:  # a refused or dropped connection is an error, not a crash of the test
                why = f"{type(e).__name__}: {e}"
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                if why:
                    errors.append(why)
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1000
    return {"requests": len(lat), "errors": len(errors), "first_errors": errors[:3], "wall_s": wall,
            "throughput": len(lat) / wall, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--photos", type=int, default=8, help="library size when the tool makes its own")
    ap.add_argument("--url")
    ap.add_argument("--key")
    ap.add_argument("--photo", action="append", help="with --url: a photo path the key may read (repeatable)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="keepers-load-"))
    proc = None
    try:
        if args.url:
            url, key, photos = args.url, args.key, args.photo or []
            if not (key and photos):
                ap.error("--url needs --key and at least one --photo")
        else:
            photos = library(tmp / "library", args.photos)
            proc, url, key = start_daemon(tmp, tmp / "library")
        warm = Client(url, key)
        t = time.perf_counter()
        first = warm.post("/v1/predict", {"paths": photos})  # analysed once; every later request hits the catalog
        if first.status != 200:
            print(f"warm-up failed: {first}", file=sys.stderr)
            return 1
        print(f"{len(photos)} real photos analysed in {time.perf_counter() - t:.1f} s; "
              f"{args.clients} clients x {args.requests} predict requests ...")
        r = run(url, key, photos, args.clients, args.requests)
        print(f"requests {r['requests']}  errors {r['errors']}  wall {r['wall_s']:.1f} s  "
              f"throughput {r['throughput']:.0f} req/s  p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  "
              f"max {r['max_ms']:.1f} ms")
        for e in r["first_errors"]:
            print(f"  error: {e}", file=sys.stderr)
        return 1 if r["errors"] or r["requests"] != args.requests else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
