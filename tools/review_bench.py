"""The review page at shoot size (issue 22): `keepers review` on 5,000 culled photos, measured in headless Chromium.

The library is made cheaply once and reused: 5,000 small JPEG crops (320x240) of real photos from ../shared/data
(bursts of 1-6 frames, the crop moving a few pixels from frame to frame, capture times in EXIF), culled once into a
catalog under .bench/review (KEEPERS_REVIEW_BENCH moves it; ~9 min on 2 busy cores). Then, each run:
- start: from `keepers review PATH --no-browser` to the URL on its stdout (the library is culled: nothing new);
- grid ready: from the page's navigation to the first screen of thumbnails painted (every visible <img> loaded)
  and the page answering a key (a `→` moving the cursor);
- next photo in the loupe: `→` in the loupe until the new photo's image is loaded and painted, 50 steps (median,
  p95, max), with the page's own prefetch.
`python tools/review_bench.py [--photos 5000] [--steps 50] [--pause 0.5] [--cold]`; `--record` appends the result to
docs/benchmarks.md; `--if-made` (make bench) measures only a library made already.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = Path(os.environ.get("KEEPERS_REVIEW_BENCH") or ROOT / ".bench" / "review")
# the keepers command of this Python (PYTHONPATH=<a tree holding another keepers/> measures that one: a baseline)
KEEPERS = [sys.executable, "-c", "import sys; from keepers.cli import main; sys.argv[0] = 'keepers'; sys.exit(main())"]


def env(home: Path) -> dict[str, str]:
    e = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        e[var] = str(home / var.lower())
    e["KEEPERS_LOAD_PLUGINS"] = "0"
    return e


def make_library(folder: Path, n: int, seed: int = 0, width: int = 320) -> None:
    """n distinct 320x240 JPEG crops of real photos in one folder (one shoot), in bursts of 1-6 frames; `width`
    above 320: each crop enlarged to width x 3/4 width (camera-sized files: what making previews costs)."""
    import numpy as np
    from PIL import Image

    sources = sorted((DATA / "clean").glob("C*/*.jpg")) + sorted((DATA / "clean" / "McMaster").glob("*.jpg"))
    sources = [s for s in sources if min(Image.open(s).size) >= 300]
    if not sources:
        sys.exit(f"no source photos under {DATA / 'clean'}")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t = datetime.datetime(2026, 6, 13, 14, 0, 0)
    i = 0
    while i < n:
        src = Image.open(sources[int(rng.integers(len(sources)))]).convert("RGB")
        w, h = src.size
        x, y = int(rng.integers(0, w - 320 + 1)), int(rng.integers(0, h - 240 + 1))
        frames = int(rng.choice([1, 1, 1, 2, 3, 4, 5, 6]))
        for f in range(min(frames, n - i)):
            dx, dy = (int(v) for v in rng.integers(-6, 7, size=2))
            x, y = max(0, min(w - 320, x + dx)), max(0, min(h - 240, y + dy))
            exif = Image.Exif()
            exif.get_ifd(0x8769)[0x9003] = t.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
            exif[0x0110] = "Bench Camera"  # Model
            im = src.crop((x, y, x + 320, y + 240))
            if width > 320:
                im = im.resize((width, width * 3 // 4), Image.BICUBIC)
            im.save(folder / f"IMG_{i:05d}.jpg", "JPEG", quality=88, exif=exif)
            i += 1
            t += datetime.timedelta(seconds=1)
        t += datetime.timedelta(seconds=int(rng.integers(20, 120)))  # the next scene


def library(n: int, width: int = 320) -> tuple[Path, Path]:
    """(the shoot's folder, the home whose catalog has it culled), made once and reused."""
    base = CACHE / (str(n) if width == 320 else f"{n}x{width}")
    folder, home, done = base / "shoot", base / "home", base / ".culled"
    if done.exists():
        return folder, home
    shutil.rmtree(base, ignore_errors=True)
    t0 = time.monotonic()
    make_library(folder, n, width=width)
    print(f"made {n} photos in {time.monotonic() - t0:.0f} s; culling them once (minutes)...", file=sys.stderr)
    t0 = time.monotonic()
    p = subprocess.run(["nice", "-n", "5", *KEEPERS, "cull", str(folder)], env=env(home), capture_output=True,
                       text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"keepers cull failed: {p.stderr[-2000:]}")
    print(f"culled in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    done.write_text(f"culled in {time.monotonic() - t0:.0f} s\n")
    return folder, home


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


# polled every animation frame inside the page: the time (ms since navigation) when every thumbnail on the first
# screen is loaded and a `→` has moved the cursor (the status line names the second photo)
GRID_READY = """
const done = arguments[arguments.length - 1];
function visible() {
  const imgs = [...document.querySelectorAll('#grid img')].filter(i => {
    const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);
}
let pressed = false;
(function poll() {
  if (!pressed && visible()) {
    pressed = true;
    document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
  }
  if (pressed && /^2\\//.test(document.getElementById('status').textContent)) {
    requestAnimationFrame(() => done(performance.now()));  // the frame that shows it
    return;
  }
  requestAnimationFrame(poll);
})();
"""

# one `→` in the loupe: ms from the key to the frame that shows the next photo's loaded image
NEXT_PHOTO = """
const done = arguments[arguments.length - 1];
const before = document.querySelector('#loupe img');
const was = before && before.getAttribute('src');
const t0 = performance.now();
document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
(function poll() {
  const i = document.querySelector('#loupe img');
  if (i && i.getAttribute('src') !== was && i.complete && i.naturalWidth > 0) {
    requestAnimationFrame(() => done(performance.now() - t0));
    return;
  }
  requestAnimationFrame(poll);
})();
"""


STEP_LIMIT_S = 30


def measure(n: int = 5000, steps: int = 50, pause: float = 0.5, cold: bool = False, width: int = 320) -> dict:
    folder, home = library(n, width)
    out: dict = {"photos": n, "cold": cold, "width": width}
    if cold:  # no preview made yet: as the first review of a shoot
        shutil.rmtree(home / "xdg_data_home" / "keepers" / "previews", ignore_errors=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([*KEEPERS, "review", str(folder), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(home))
    url = proc.stdout.readline().strip()
    out["start_s"] = time.monotonic() - t0
    if not url:
        proc.kill()
        sys.exit("keepers review printed no URL: " + proc.stderr.read()[-2000:])
    print(f"start {out['start_s']:.1f} s", file=sys.stderr, flush=True)
    from selenium.common.exceptions import TimeoutException

    driver = browser()
    try:
        driver.set_script_timeout(STEP_LIMIT_S)
        driver.get(url)  # through the token link: the cookie, then the page
        out["grid_ready_s"] = driver.execute_async_script(GRID_READY) / 1000
        print(f"grid ready {out['grid_ready_s']:.2f} s", file=sys.stderr, flush=True)
        driver.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'e', bubbles: true}))")
        times = []
        for _ in range(steps):
            time.sleep(pause)  # a photographer looks at each photo a moment: the page prefetches meanwhile
            try:
                times.append(driver.execute_async_script(NEXT_PHOTO))
            except TimeoutException:  # counted at the limit: the measure says "at least"
                times.append(STEP_LIMIT_S * 1000.0)
                driver.get(driver.current_url)  # a page still waiting would count against the next step
                driver.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'e', bubbles: true}))")
        out["timeouts"] = sum(t >= STEP_LIMIT_S * 1000 for t in times)
        times.sort()
        out["next_ms"] = {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                          "max": times[-1]}
        out["console_errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    import re

    found = re.search(r"\((\d+) analysed now\)", err or "")
    out["analysed_at_start"] = int(found.group(1)) if found else None  # > 0: the start culled, not only opened
    return out


def screenshots(out: Path) -> list[Path]:
    """The grid, the loupe and the compare view of `keepers demo`'s photos, as README shows them (JPEG, 1400x900)."""
    import io
    import tempfile

    from PIL import Image

    from keepers.core.lab import demo

    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        demo.build(Path(tmp) / "photos")
        proc = subprocess.Popen([*KEEPERS, "review", str(Path(tmp) / "photos"), "--no-browser"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env(Path(tmp)))
        url = proc.stdout.readline().strip()
        driver = browser()
        try:
            driver.get(url)
            key = "document.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}))"
            loaded = ("return [...document.querySelectorAll('main section:not([hidden]) img')]"
                      ".every(i => i.complete && i.naturalWidth > 0)")
            for view, keys in (("grid", ["ArrowRight"] * 6), ("loupe", ["e"]), ("compare", ["ArrowRight"] * 5 + ["c"])):
                for k in keys:
                    driver.execute_script(key, k)
                end = time.monotonic() + 30
                while not driver.execute_script(loaded) and time.monotonic() < end:
                    time.sleep(0.1)
                time.sleep(0.3)
                path = out / f"review-{view}.jpg"
                Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB").save(path, quality=80)
                made.append(path)
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(timeout=60)
    return made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--width", type=int, default=320, help="photos this wide (enlarged crops; 320: as cropped)")
    ap.add_argument("--pause", type=float, default=0.5, help="seconds on each photo before the next key (0.5)")
    ap.add_argument("--cold", action="store_true", help="remove the cached previews first (a shoot's first review)")
    ap.add_argument("--make-only", action="store_true", help="make and cull the library, measure nothing")
    ap.add_argument("--if-made", action="store_true", help="measure only if the library is made and culled already "
                    "(`make bench`: culling 5,000 photos takes ~9 min on 2 cores, a measure ~40 s)")
    ap.add_argument("--record", action="store_true", help="append the result to docs/benchmarks.md")
    ap.add_argument("--screenshots", type=Path, metavar="DIR", help="the README's screenshots of each view, into DIR")
    a = ap.parse_args()
    if a.screenshots:
        print(*screenshots(a.screenshots), sep="\n")
        return
    if a.make_only:
        print(library(a.photos, a.width))
        return
    if a.if_made and not (CACHE / (str(a.photos) if a.width == 320 else f"{a.photos}x{a.width}") / ".culled").exists():
        print(f"review page at {a.photos} photos: not measured; `python tools/review_bench.py` makes and culls its "
              f"library once (~9 min on 2 cores, kept in {CACHE}), then measures in ~40 s a run")
        return
    m = measure(a.photos, a.steps, a.pause, cold=a.cold, width=a.width)
    nx = m["next_ms"]
    size = f" of {m['width']}x{m['width'] * 3 // 4} px" if m["width"] != 320 else ""
    cold = " (no preview cached)" if m["cold"] else ""
    line = (f"review page, {m['photos']} culled photos{size}{cold}: start {m['start_s']:.1f} s, "
            f"grid ready {m['grid_ready_s']:.2f} s "
            f"(goal < 2 s), next photo in the loupe median {nx['median']:.0f} ms, p95 {nx['p95']:.0f} ms, max "
            f"{nx['max']:.0f} ms over {a.steps} steps {a.pause:g} s apart (goal p95 < 100 ms"
            + (f"; {m['timeouts']} steps over {STEP_LIMIT_S} s, counted as {STEP_LIMIT_S} s" if m["timeouts"] else "")
            + f"); console errors: {len(m['console_errors'])}"
            + (f"; the start analysed {m['analysed_at_start']} photos first (an analyzer changed since the library "
               "was culled): run again" if m["analysed_at_start"] else ""))
    print(line)
    for e in m["console_errors"][:5]:
        print("  " + e)
    if a.record:
        with open(ROOT / "docs" / "benchmarks.md", "a", encoding="utf-8") as f:
            f.write(f"- {datetime.date.today()}: {line}\n")


if __name__ == "__main__":
    main()
