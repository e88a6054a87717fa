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

from keepers.core.analyzers import Analyzer, run_all
from keepers.core.analyzers.quality_head import QualityHead, flaw_features, flaw_scorers, flaw_scores, head
from keepers.core.analyzers.quality_inputs import classical_findings, extra_features, head_inputs
from keepers.core.analyzers.quality_route import route
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Finding, Frame, Reason

# the pieces live in quality_inputs.py (what the head reads), quality_head.py (the trained head and flaw scorers) and
# quality_route.py (portrait, landscape or other); the names above are also this module's, for its callers (the
# training scripts, eval, the tests)
__all__ = ["MIN_SIDE", "BLANK_STD", "QualityAnalyzer", "QualityHead", "analyze_alone", "classical_findings",
           "extra_features", "flaw_features", "flaw_scorers", "flaw_scores", "head", "head_inputs", "keepers_analyzers",
           "route"]

MIN_SIDE = 32  # px: below this on its short side an image (or a RAW's only preview) is not judged
BLANK_STD = 1.5  # grey levels (of 255): below this spread a frame shows nothing (the darkest clean photo: see tests)
# In a portrait the tones that matter are the face's: a well-exposed face against a dark backdrop is a low-key
# portrait, not an underexposed or vignetted photo. The head, trained on whole frames, reads the backdrop; for a
# portrait whose face is well exposed it is asked again with the frame's tonal features at their average.
FACE_WELL_EXPOSED = (-1.5, 2.0)  # face_ev (stops from middle grey) where the face itself is neither dark nor blown
TONAL = ("exposure.", "lens.vignetting_ev", "extra.dark", "extra.bright", "extra.rms_contrast")


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
    # 8: the portrait check measures the eyes' blur (and the distance between them) also where the frame reads soft;
    # 9: an eye region whose blur reads at the measure's ceiling (no detail clear of its noise) is not measured,
    # and a sloping line is no tilted horizon where another line as long lies level
    version = "9"
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
