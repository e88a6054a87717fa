"""Train the texture head: softmax regression over the EfficientNet-Lite0 embedding -> models/textures_head.npz.

Run `.venv/bin/python models/train/textures.py` (needs ../shared/data: textures/ for the DTD terms, clean/ for
ordinary photos, the `none` class). A fixed-seed split holds out a third of each class; the L2 strength and the
tagging threshold are chosen by 5-fold cross-validation on the training part only, then the held-out part is
scored once. Training images are used twice, as is and mirrored. scipy (L-BFGS) is a build-time tool here; the
runtime (keepers.core.inference.textures) needs numpy only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "models" / "textures_head.npz"
MANIFEST = ROOT / "models" / "manifest" / "textures_head.json"
CACHE = Path("/tmp/keepers-build/textures/features.npz")
SEED = 0
LAMBDAS = [1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1]
THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.05), 2)
MAX_FLOOD = 0.02  # at most this share of ordinary photos may get a texture tag (cross-validated)
MAX_TAGS = 2
NONE = "none"
NEGATIVE_SETS = ["imagenet", "CBSD68", "CSet14", "CSet5", "CSun_Hays80", "CUrban100", "McMaster"]


def dataset() -> tuple[list[Path], list[str]]:
    with open(DATA / "textures" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    paths = [DATA / "textures" / r["file"] for r in rows]
    labels = [r["texture"] for r in rows]
    for s in NEGATIVE_SETS:
        for p in sorted((DATA / "clean" / s).iterdir()):
            paths.append(p)
            labels.append(NONE)
    return paths, labels


def encode_labels(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Classes (the terms sorted, then `none` last) and each label's index among them."""
    classes = sorted(set(labels) - {NONE}) + [NONE]
    return classes, np.array([classes.index(lab) for lab in labels])


def embed_all(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, embeddings of the mirrored photo), decoded as a cull decodes them; cached between runs."""
    from keepers.core.inference.embedding import EfficientNetLite0
    from keepers.core.io.loader import load
    from keepers.core.inference.runtime import sha256
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    model = EfficientNetLite0(providers=["CPUExecutionProvider"])
    key = hashlib.sha256("\n".join(map(str, paths)).encode() + sha256(model.path).encode()).hexdigest()
    if CACHE.is_file():
        with np.load(CACHE) as z:
            if str(z["key"]) == key:
                return z["plain"], z["flipped"]
    plain, flipped = [], []
    for p in paths:
        rgb = load(Photo(str(p), "jpeg"), Settings().analysis_size).rgb
        plain.append(model.embed(rgb)[0])
        flipped.append(model.embed(np.ascontiguousarray(rgb[:, ::-1]))[0])
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, key=key, plain=np.array(plain), flipped=np.array(flipped))
    return np.array(plain), np.array(flipped)


def split(y: np.ndarray, k: int) -> np.ndarray:
    """Fold number per sample, stratified by class, fixed seed."""
    rng = np.random.default_rng(SEED)
    fold = np.zeros(len(y), int)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, lam: float) -> dict[str, np.ndarray]:
    """Standardise, then L2-regularised softmax regression by L-BFGS."""
    from scipy.optimize import minimize

    mean, scale = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / scale
    n, d = xs.shape
    onehot = np.eye(n_classes)[y]

    def loss(w):
        W, b = w[: d * n_classes].reshape(d, n_classes), w[d * n_classes :]
        z = xs @ W + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / n
        value = -np.log(p[np.arange(n), y] + 1e-12).mean() + lam * (W**2).sum()
        return value, np.concatenate([(xs.T @ g + 2 * lam * W).ravel(), g.sum(0)])

    w = minimize(loss, np.zeros(d * n_classes + n_classes), jac=True, method="L-BFGS-B",
                 options={"maxiter": 1000}).x
    return {"W": w[: d * n_classes].reshape(d, n_classes), "b": w[d * n_classes :], "mean": mean, "scale": scale}


def predict(head: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    z = ((x - head["mean"]) / head["scale"]) @ head["W"] + head["b"]
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


def scores(p: np.ndarray, y: np.ndarray, none: int, threshold: float) -> dict[str, float]:
    """top-1/top-3 among the terms on texture photos; tagging recall and flooding at `threshold`."""
    assert none == p.shape[1] - 1, "`none` is the last class"
    tex = y != none
    terms = p[:, :none]
    order = np.argsort(-terms, axis=1)
    truth = y
    top = order[tex]
    tagged = np.take_along_axis(terms, order, 1)[:, :MAX_TAGS] >= threshold
    hit = [(top[i, :MAX_TAGS][tagged[tex][i]] == truth[tex][i]).any() for i in range(tex.sum())]
    return {"top1": float((top[:, 0] == truth[tex]).mean()), "top3": float((top[:, :3] == truth[tex][:, None]).any(1).mean()),
            "tag_recall": float(np.mean(hit)), "flooded": float(tagged[~tex].any(1).mean()),
            "tags_per_texture_photo": float(tagged[tex].sum(1).mean())}


def logloss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz with fixed zip timestamps, so the same head gives the same bytes (np.savez stamps the time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.asarray(a), allow_pickle=False)
            z.writestr(info, arr.getvalue())
    path.write_bytes(buf.getvalue())


def main() -> int:
    if not (DATA / "textures" / "labels.csv").is_file():
        print(f"needs {DATA}/textures (absent)")
        return 2
    paths, labels = dataset()
    classes, y = encode_labels(labels)
    none = classes.index(NONE)
    plain, flipped = embed_all(paths)
    plain, flipped = normalise(plain), normalise(flipped)
    test = split(y, 3) == 0  # a third of each class, never looked at before the final score
    tr = np.flatnonzero(~test)
    folds = split(y[tr], 5)

    def train_on(idx):
        return np.concatenate([plain[idx], flipped[idx]]), np.concatenate([y[idx], y[idx]])

    cv = {}
    for lam in LAMBDAS:
        oof = np.zeros((len(tr), len(classes)))
        for f in range(5):
            head = fit(*train_on(tr[folds != f]), len(classes), lam)
            oof[folds == f] = predict(head, plain[tr[folds == f]])
        cv[lam] = oof
        s = scores(oof, y[tr], none, 0.5)
        print(f"cv lambda {lam:g}: log-loss {logloss(oof, y[tr]):.4f} top1 {s['top1']:.3f} top3 {s['top3']:.3f}")
    lam = min(LAMBDAS, key=lambda l: logloss(cv[l], y[tr]))
    # the lowest threshold that keeps ordinary photos (cross-validated) nearly free of texture tags
    threshold = next(float(t) for t in THRESHOLDS if scores(cv[lam], y[tr], none, t)["flooded"] <= MAX_FLOOD)
    cv_scores = scores(cv[lam], y[tr], none, threshold)
    print(f"chosen lambda {lam:g}, threshold {threshold}: cv {cv_scores}")

    head = fit(*train_on(tr), len(classes), lam)
    held = scores(predict(head, plain[test]), y[test], none, threshold)
    print(f"held-out ({int((test & (y != none)).sum())} texture + {int((test & (y == none)).sum())} ordinary photos): {held}")

    arrays = {"W": head["W"].astype(np.float32), "b": head["b"].astype(np.float32),
              "mean": head["mean"].astype(np.float32), "scale": head["scale"].astype(np.float32),
              "classes": np.array(classes), "threshold": np.float32(threshold), "max_tags": np.int32(MAX_TAGS)}
    save_npz(OUT, arrays)
    rnd = lambda d: {k: round(v, 3) for k, v in d.items()}  # noqa: E731
    entry = {
        "file": OUT.name, "sha256": hashlib.sha256(OUT.read_bytes()).hexdigest(), "bytes": OUT.stat().st_size,
        "source": "trained here: softmax regression over efficientnet_lite0 features (models/train/textures.py)",
        "data": f"../shared/data/textures (DTD, {len(classes) - 1} terms x 60) + {int((y == none).sum())} ordinary "
                "photos of ../shared/data/clean as `none`",
        "licence": "Apache-2.0 (weights trained by Keepers); DTD images are research use",
        "inputs": "embedding [1280] float32 from efficientnet_lite0 (raw pooled features)",
        "preprocessing": "L2-normalise, subtract `mean`, divide by `scale`",
        "outputs": f"softmax over classes {classes}",
        "training": {"seed": SEED, "held_out": "one third of each class", "lambda": lam, "threshold": threshold,
                     "max_tags": MAX_TAGS, "augmentation": "horizontal mirror of training photos",
                     "selection": "lambda: lowest 5-fold cross-validated log-loss on the training part; threshold: lowest that tags at most 2 % of ordinary photos, cross-validated"},
        "cv": rnd(cv_scores), "held_out": rnd(held),
        "recipe": "python models/train/textures.py",
    }
    MANIFEST.write_text(json.dumps(entry, indent=1) + "\n")
    print(f"wrote {OUT} and {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
