"""The quality engine: one learned head scores the whole photo 1-10; portrait and landscape checks add what it
cannot see (closed or red eyes, a cut-off face, a tilted horizon...), and the analyzers' reasons say why.

The head (models/quality_head.npz, trained by models/train/quality.py) is a RankNet-trained scorer over the
classical analyzers' `features` plus a few statistics of our own, and optionally the EfficientNet-Lite0 embedding
of the photo and of one 224 px detail crop (training chooses the inputs; the manifest says which). Its raw output
goes to 1-10 through fixed knots measured on reference photos, so a score means the same in every shoot. The
analyzer measures: the head's 1-10 reading, its flaw classes and the checks' reasons; the judging step
(keepers.core.judge.judgement) makes the photo's score from them. It declares the findings it reads (`requires`); run
alone (`analyze_alone`), it computes them itself.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer, run_all
from keepers.core.hookspecs import hookimpl
from keepers.core.inference.runtime import MODELS_DIR, trained_arrays
from keepers.core.types import Finding, Frame, Reason

HEAD_FILE = MODELS_DIR / "quality_head.npz"
MIN_SIDE = 32  # px: below this on its short side an image (or a RAW's only preview) is not judged
BLANK_STD = 1.5  # grey levels (of 255): below this spread a frame shows nothing (the darkest clean photo: see tests)
CROP = 224

# what the head needs from the classical analyzers (missing ones count as 0)
CLASSICAL = {
    "sharpness": ("blur_best", "blur_median", "blur_sharp_dir", "blur_blur_dir", "smear", "anisotropy", "content_tiles"),
    "noise": ("noise_y", "noise_c", "noise_immerkaer", "noise_floor", "noise_level"),
    "exposure": ("p1", "p5", "p50", "p95", "p99", "key_ev", "headroom_ev", "under_ev", "over", "clipped", "blown",
                 "black", "spread", "backlit_ev", "centre", "surround"),
    "lens": ("vignetting_ev", "ca_red_px", "ca_blue_px", "ca_px"),
}
LOG1P = {f"noise.{k}" for k in CLASSICAL["noise"]}  # heavy-tailed


def classical_findings(frame: Frame, found: dict[str, Finding] | None = None) -> dict[str, Finding]:
    """The classical analyzers' findings for this frame: those in `found` (the pipeline's), the rest computed."""
    from keepers.core.analyzers.exposure import ExposureAnalyzer
    from keepers.core.analyzers.lens import LensAnalyzer
    from keepers.core.analyzers.noise import NoiseAnalyzer
    from keepers.core.analyzers.sharpness import SharpnessAnalyzer

    found = dict(found or {})
    for cls in (SharpnessAnalyzer, NoiseAnalyzer, ExposureAnalyzer, LensAnalyzer):
        if cls.name not in found:
            found[cls.name] = cls().analyze(frame)
    return found


def extra_features(frame: Frame) -> dict[str, float]:
    """Statistics the classical analyzers do not keep: gradient energy per scale, colour, JPEG blocking, tonal spread."""
    g = frame.grey
    out, level = {}, g
    for k in range(3):  # how detail falls from fine to coarse scales tells blur from a plain subject
        gx, gy = cv2.Sobel(level, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(level, cv2.CV_32F, 0, 1, ksize=3)
        out[f"grad{k}"] = math.log(float(cv2.mean(cv2.magnitude(gx, gy))[0]) + 1e-4)
        out[f"lap{k}"] = math.log(float(cv2.meanStdDev(cv2.Laplacian(level, cv2.CV_32F))[1][0, 0]) ** 2 + 1e-7)
        level = cv2.pyrDown(level)
    out["grad_drop"], out["lap_drop"] = out["grad0"] - out["grad2"], out["lap0"] - out["lap2"]
    # colour and tones from a small copy: they do not need detail
    h, w = g.shape
    f = min(1.0, 256 / max(h, w))
    small = frame.shrunk((max(1, round(w * f)), max(1, round(h * f))))
    rgb = small.reshape(-1, 3).astype(np.float32)
    rg, yb = rgb[:, 0] - rgb[:, 1], 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    out["colourfulness"] = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())) / 255
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    out["saturation"] = float(hsv[..., 1].mean()) / 255
    y8 = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    out["rms_contrast"] = float(y8.std()) / 255
    hist = cv2.calcHist([y8], [0], None, [64], [0, 256]).ravel() / y8.size
    out["entropy"] = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum())
    out["dark"], out["bright"] = float(hist[:6].sum()), float(hist[-6:].sum())
    # JPEG blocking: luma steps across the 8 px grid against steps elsewhere (rows subsampled: a statistic)
    dx = np.abs(np.diff(g[::4, : w // 8 * 8], axis=1)).mean(axis=0)
    out["blockiness"] = float(dx[7::8].mean() / (dx.mean() + 1e-5)) if dx.size >= 16 else 1.0
    return out


def detail_crop(frame: Frame, box=None) -> np.ndarray:
    """A CROP x CROP window of the analysis image around `box` (the sharpest tile), or its centre."""
    h, w = frame.rgb.shape[:2]
    if min(h, w) < CROP:
        return frame.rgb
    cx, cy = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) if box else (w / 2, h / 2)
    x0 = int(np.clip(cx - CROP / 2, 0, w - CROP))
    y0 = int(np.clip(cy - CROP / 2, 0, h - CROP))
    return frame.rgb[y0 : y0 + CROP, x0 : x0 + CROP]


def head_inputs(frame: Frame, model=None, crop: bool = True, found: dict[str, Finding] | None = None
                ) -> dict[str, np.ndarray | dict]:
    """Everything the head reads: {"embedding", "crop_embedding", "features"} (features: name -> value); the crop's
    embedding (one more network run) only when `crop`. `found`: the classical findings made already."""
    from keepers.core.inference.embedding import frame_embedding, shared_model

    model = model or shared_model()
    found = classical_findings(frame, found)
    feats = {f"{a}.{k}": float(found[a].features.get(k, 0.0)) for a, keys in CLASSICAL.items() for k in keys}
    for k in LOG1P:
        feats[k] = math.log1p(max(feats[k], 0.0))
    feats.update({f"extra.{k}": v for k, v in extra_features(frame).items()})
    emb, _ = frame_embedding(frame, model)
    out = {"embedding": emb, "features": feats}
    if crop:
        box = found["sharpness"].data.get("best_box")
        out["crop_embedding"] = model.embed(np.ascontiguousarray(detail_crop(frame, box)))[0]
    return out


# ImageNet classes of open scenery: their summed probability routes a photo to the landscape checks
SCENERY = ("n09193705", "n09246464", "n09288635", "n09332890", "n09399592", "n09421951", "n09428293", "n09468604",
           "n09472597", "n02894605", "n03933933", "n02814860", "n03160309", "n04532670", "n02859443", "n07802026",
           "n11879895", "n03042490")
LANDSCAPE_P = 0.25
PORTRAIT_FACE = 0.12  # the largest face's side / the frame's long side
# In a portrait the tones that matter are the face's: a well-exposed face against a dark backdrop is a low-key
# portrait, not an underexposed or vignetted photo. The head, trained on whole frames, reads the backdrop; for a
# portrait whose face is well exposed it is asked again with the frame's tonal features at their average.
FACE_WELL_EXPOSED = (-1.5, 2.0)  # face_ev (stops from middle grey) where the face itself is neither dark nor blown
TONAL = ("exposure.", "lens.vignetting_ev", "extra.dark", "extra.bright", "extra.rms_contrast")
def _standardised(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Inputs on their training scale, as the training scripts standardise them (models/train/quality.py: design):
    centred, divided by the spread, clipped to +-6."""
    # a measure that came out infinite or undefined (a grossly over-sharpened photo's blur) counts as the training
    # average, not as NaN, which made the score NaN and the photo a reject with no reason that said why
    return np.nan_to_num(np.clip((x - mean) / scale, -6, 6), nan=0.0)


def _relu_mlp(x: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> float:
    """One hidden ReLU layer to one output: the trained heads' shape (models/train/quality.py: predict). With a
    leading member axis (W1 members x inputs x hidden), an ensemble: the members' mean."""
    if W1.ndim == 3:
        return float(np.mean((np.maximum(np.einsum("d,kdh->kh", x, W1) + b1, 0) * w2).sum(axis=1)))
    return float(np.maximum(x @ W1 + b1, 0) @ w2)


class QualityHead:
    """The trained head: standardised inputs -> raw score (linear or one hidden layer) -> 1-10 through knots."""

    def __init__(self, path=HEAD_FILE):
        self.z = trained_arrays(path, "quality head", "models/train/quality.py")
        self.blocks = [str(b) for b in self.z["blocks"]]
        self.feature_names = [str(n) for n in self.z["feature_names"]]
        self.flaw_classes = [str(c) for c in self.z["flaw_classes"]]

    def design(self, inputs: dict) -> np.ndarray:
        """The standardised input row, blocks in training order."""
        parts = []
        for b in self.blocks:
            if b == "features":
                x = np.array([inputs["features"].get(n, 0.0) for n in self.feature_names], np.float64)
            else:
                x = np.asarray(inputs[b.removesuffix("_pca")], np.float64)
                x = x / max(float(np.linalg.norm(x)), 1e-12)
                if b.endswith("_pca"):  # the embedding's principal components, fitted in training
                    x = (x - self.z[f"{b}_pca_mean"]) @ self.z[f"{b}_pca"]
            parts.append(_standardised(x, self.z[f"{b}_mean"], self.z[f"{b}_scale"]))
        return np.concatenate(parts)

    def neutral(self, x: np.ndarray, prefixes: tuple[str, ...]) -> np.ndarray:
        """`x` with the features named by `prefixes` at their training average (0 once standardised)."""
        if "features" not in self.blocks:
            return x
        off = sum(len(self.z[f"{b}_mean"]) for b in self.blocks[: self.blocks.index("features")])
        x = x.copy()
        x[[off + i for i, n in enumerate(self.feature_names) if n.startswith(prefixes)]] = 0.0
        return x

    def raw(self, x: np.ndarray) -> float:
        z = self.z
        if "W1" in z:
            return _relu_mlp(x, z["W1"], z["b1"], z["w2"])
        return float(np.mean(z["w"] @ x))  # one linear scorer, or an ensemble's (members x inputs)

    def score(self, raw: float) -> float:
        """1-10: the raw score through fixed knots measured on reference photos (clean vs flawed)."""
        return float(np.clip(np.interp(raw, self.z["knots_x"], self.z["knots_y"]), 1.0, 10.0))

    def flaws(self, x: np.ndarray) -> dict[str, float]:
        """Probability of each flaw class ("none" included) from the same inputs."""
        logits = x @ self.z["flaw_W"] + self.z["flaw_b"]
        p = np.exp(logits - logits.max())
        return dict(zip(self.flaw_classes, (p / p.sum()).tolist()))


@lru_cache(maxsize=1)
def head() -> QualityHead:
    return QualityHead()


FLAWS_FILE = MODELS_DIR / "flaw_scorers.npz"


class FlawScorers:
    """One small scorer per flaw (models/flaw_scorers.npz, trained by models/train/flaws.py) over the head's
    features: how strongly a photo shows each flaw, 0 for the median clean photo, +1 per interquartile range of
    clean photos beyond it (the quality finding's features `flaw_<kind>`). One score for every flaw cannot keep
    what the features tell about each (docs/eval.md: what limits the per-flaw AUCs); these do."""

    def __init__(self, path=FLAWS_FILE):
        self.z = trained_arrays(path, "flaw scorers", "models/train/flaws.py")
        self.kinds = [str(k) for k in self.z["kinds"]]
        self.feature_names = [str(n) for n in self.z["feature_names"]]

    def __call__(self, features: dict[str, float]) -> dict[str, float]:
        z = self.z
        x = np.array([features.get(n, 0.0) for n in self.feature_names], np.float64)
        x = _standardised(x, z["features_mean"], z["features_scale"])
        out = {}
        for k in self.kinds:
            s = _relu_mlp(x, z[f"{k}_W1"], z[f"{k}_b1"], z[f"{k}_w2"])
            centre, unit = z[f"{k}_calib"]
            out[k] = float(-(s - centre) / unit)
        return out


@lru_cache(maxsize=1)
def flaw_scorers() -> FlawScorers:
    return FlawScorers()


FLAW_PREFIX = "flaw_"  # the quality finding's features "flaw_<kind>", which the catalog keeps and `keepers show
# --json` prints


def flaw_features(scores: dict[str, float]) -> dict[str, float]:
    return {FLAW_PREFIX + k: round(v, 2) for k, v in scores.items()}


def flaw_scores(finding: Finding) -> dict[str, float]:
    """kind -> flaw score, from a quality finding's features."""
    return {k.removeprefix(FLAW_PREFIX): v for k, v in finding.features.items() if k.startswith(FLAW_PREFIX)}


def route(frame: Frame, faces: Finding | None, probs: np.ndarray) -> str:
    """portrait (a face large enough to matter), landscape (open scenery) or other."""
    found = [f for f in (faces.data.get("faces", []) if faces else []) if f.get("score", 0) >= 0.9]
    if found:
        b = found[0]["box"]
        if max(b[2] - b[0], b[3] - b[1]) >= PORTRAIT_FACE * max(frame.rgb.shape[:2]):
            return "portrait"
    if float(sum(probs[i] for i in _scenery_index(len(probs)))) >= LANDSCAPE_P:
        return "landscape"
    return "other"


@lru_cache(maxsize=1)
def _scenery_index(n: int) -> tuple[int, ...]:
    from keepers.core.inference.embedding import classes

    ids = [w for w, _ in classes()]
    return tuple(ids.index(w) for w in SCENERY if w in ids)


class QualityAnalyzer(Analyzer):
    """Measures the photo for the judging step: the head's 1-10 reading (`features["head_score"]`), its flaw
    classes (`data["flaw_p"]`), the route (portrait, landscape, other) and the portrait and landscape checks'
    reasons (closed or red eyes, a cut-off face, a tilted horizon...). It gives no score of its own."""

    name = "quality"
    # 2: the second face search uses the short-range detector; 3: the red-eye and eye-sharpness checks read the decode
    # the loader keeps where it gives enough; 4: what each reason cost (data["costs"]), and the head's flaw guess named
    # for any low score that no reason of that flaw explains; 5: every such guess says it is the model's reading;
    # 6: measures only (the score, the guess and the costs are the judging step's): data["flaw_p"], no score;
    # 7: the blank check reads grey levels of 255 (6 compared the 0-1 luma's spread with 1.5: every photo was blank);
    # 8: the portrait check measures the eyes' blur (and the distance between them) also where the frame reads soft
    version = "8"
    requires = ("sharpness", "noise", "exposure", "lens", "faces")

    def __init__(self, providers: list[str] | None = None):
        from keepers.core.inference.runtime import manifest

        # a retrained head or flaw scorer changes what is stored: the catalog must analyse again
        shas = [manifest().get(m, {}).get("sha256", "")[:8] for m in ("quality_head", "flaw_scorers")]
        self.version = ".".join([QualityAnalyzer.version, *shas])
        self._providers = providers

    def analyze(self, frame: Frame, inputs: dict[str, Finding] | None = None) -> Finding:
        from keepers.core.analyzers import landscape, portrait
        from keepers.core.inference.embedding import frame_embedding, shared_model

        if min(frame.rgb.shape[:2]) < MIN_SIDE:  # a thumbnail-sized image shows too little to judge
            h, w = frame.rgb.shape[:2]
            what = "its embedded preview is only" if frame.photo.kind == "raw" else "the image is only"
            return Finding(self.name, self.version, None, [Reason(
                "too_small", f"Too small to judge: {what} {w}x{h} px (Keepers needs {MIN_SIDE} px or more)", 1.0)],
                weight=0.0)
        if float(frame.grey8.std()) < BLANK_STD:  # one flat tone: a lens cap, a shot into a wall, a dead preview
            return Finding(self.name, self.version, None, [Reason(
                "blank", "Blank frame: one flat tone, no picture (a lens cap, a misfire, an empty preview)", 1.0)],
                weight=0.0)
        found = dict(inputs or {})
        if any(n not in found for n in self.requires):  # run alone (tests, eval, training): measure them ourselves
            found = {f.analyzer: f for f in analyze_alone(frame, self, only_inputs=True)} | found
        model = shared_model(self._providers)
        h = head()
        inputs_ = head_inputs(frame, model, crop=any(b.startswith("crop") for b in h.blocks), found=found)
        faces = found["faces"]
        _, probs = frame_embedding(frame, model)
        extra, data = [], {}
        if faces.score is None and (not faces.data.get("faces") or max(frame.rgb.shape[:2]) <= portrait.LOOK_AGAIN_SIDE):
            # no face judged: one may fill the frame (a close-up the detector misses), or be judgeable in a small photo
            more, closed = portrait.look_again(frame)
            if more:
                faces = Finding(faces.analyzer, faces.version, None, data={"faces": more})
                extra = [closed] if closed else []
                data["faces_again"] = True  # the faces analyzer's closed eyes are then not the ones that count
        x = h.design(inputs_)
        raw = h.raw(x)
        head_score = h.score(raw)
        kind = route(frame, faces, probs)
        reasons = []
        data["route"] = kind
        if kind == "portrait":
            reasons, data["portrait"] = portrait.check(frame, faces, found)
            fev = data["portrait"].get("face_ev")
            if fev is not None and FACE_WELL_EXPOSED[0] <= fev <= FACE_WELL_EXPOSED[1]:
                by_face = h.score(h.raw(h.neutral(x, TONAL)))
                if by_face > head_score:
                    data["tones_from_face"] = True
                    head_score = by_face
        elif kind == "landscape":
            reasons, data["landscape"] = landscape.check(frame, found)
        flaws = h.flaws(x)
        data["flaws"] = {k: round(v, 3) for k, v in sorted(flaws.items(), key=lambda kv: -kv[1])[:3]}
        data["flaw_p"] = flaws  # every class, unrounded: the judging step spreads the head's points by them
        features = {"head_raw": raw, "head_score": head_score, **flaw_features(flaw_scorers()(inputs_["features"]))}
        return Finding(self.name, self.version, None, extra + reasons, weight=0.0, features=features, data=data)


def analyze_alone(frame: Frame, analyzer: QualityAnalyzer | None = None, only_inputs: bool = False) -> list[Finding]:
    """The findings a cull would make for the quality judgement, without the pipeline: the classical analyzers',
    the faces analyzer's and (unless `only_inputs`) the quality analyzer's, in that order (for tests and eval)."""
    from keepers.core.analyzers.faces import FacesAnalyzer

    analyzer = analyzer or QualityAnalyzer()
    found = list(classical_findings(frame).values()) + run_all(frame, [FacesAnalyzer(analyzer._providers)])
    return found if only_inputs else found + run_all(frame, [analyzer], found)


@hookimpl(trylast=True)
def keepers_analyzers(settings):
    """Last in the list: the quality analyzer reads what the others found on the same frame."""
    return [QualityAnalyzer(providers=getattr(settings, "providers", None))]
