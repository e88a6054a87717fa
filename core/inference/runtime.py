"""One runtime for every bundled ONNX model: a model ABC with lazy, locked load; execution providers as data.

On CPU each process gets single-threaded sessions (on 2 cores, one process per core beat intra-op threads for
small CNNs: ../shared/research/performance.md); on CUDA, callers batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from abc import ABC
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from keepers.core.errors import ModelError

log = logging.getLogger("keepers.runtime")

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
# best first; the first one onnxruntime offers wins
DEFAULT_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]
# x86-64 CPUs with AVX2 or AVX-512 but no VNNI add two uint8 x int8 products in 16 bits, which saturates: an int8
# graph then gives other numbers there (issue 19: image features at cosine 0.90 to a VNNI CPU's). This option makes
# onnxruntime multiply uint8 x uint8, exactly; it halves int8 speed on VNNI CPUs too, so it is set only where
# models/u8s8_probe.onnx (recipe: models/export/u8s8_probe.py) sees the saturation.
PRECISE_INT8 = "session.x64quantprecision"


_manifest: dict[str, Any] = {}  # "key": the folder and its files' (name, size, mtime) when read; "value": the manifest


def manifest() -> dict[str, dict[str, Any]]:
    """The model manifest: one JSON file per model in models/manifest/ (so recipes never edit a shared file),
    name -> {file, sha256, source, licence, inputs, preprocessing, outputs, recipe, ...}. Read again only when a
    file there was added, removed or changed: a worker asked for it some ten times before its first photo, 2.6 ms
    each (the listing costs 0.05 ms). Shared: read it, do not change it."""
    folder = MODELS_DIR / "manifest"
    try:
        with os.scandir(folder) as it:
            files = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it if e.name.endswith(".json"))
    except OSError:
        files = []
    key = (str(folder), files)
    if _manifest.get("key") != key:
        _manifest["value"] = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
        _manifest["key"] = key
    return _manifest["value"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def trained_arrays(path: Path, what: str, recipe: str) -> dict[str, np.ndarray]:
    """Every array of a head trained here (.npz), or a ModelError that says how to rebuild it. Where
    models/manifest/ has an entry for the file, its sha256 must match."""
    if not path.is_file():
        raise ModelError(f"{what} {path} is missing; rebuild with: python {recipe}")
    want = manifest().get(path.stem, {}).get("sha256")
    if want and sha256(path) != want:
        raise ModelError(f"{what} {path} does not match its sha256 in models/manifest/{path.stem}.json; "
                         f"rebuild with: python {recipe}")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@lru_cache(maxsize=1)
def int8_saturates() -> bool:
    """Whether this CPU's int8 products saturate: the probe's outputs differ from the exact ones it records
    (or it cannot be run, when the exact option is the safe choice)."""
    import onnxruntime as ort

    try:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        probe = ort.InferenceSession(str(MODELS_DIR / "u8s8_probe.onnx"), opts, providers=["CPUExecutionProvider"])
        exact = probe.get_modelmeta().custom_metadata_map
        outs = probe.run(None, {i.name: np.full(i.shape, 255, np.uint8) for i in probe.get_inputs()})
        return any((out != int(exact[f"exact_{o.name}"])).any() for o, out in zip(probe.get_outputs(), outs))
    except Exception as e:  # a missing or unreadable probe: exact products, slower on VNNI CPUs
        log.warning("int8 probe failed (%s); using exact int8 products", e)
        return True


def choose_providers(wanted: list[str] | None = None) -> list[str]:
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    chosen = [p for p in (wanted or DEFAULT_PROVIDERS) if p in available]
    return chosen or ["CPUExecutionProvider"]


def provider_options(provider: str) -> dict[str, Any]:
    if provider == "CUDAExecutionProvider":
        # grow the arena only by what is asked, so several models share the card
        return {"arena_extend_strategy": "kSameAsRequested"}
    return {}


class OnnxModel(ABC):
    """A bundled ONNX model, loaded on first use.

    Subclasses set `name` (its manifest key) and implement their own pre/post-processing around `run`. The load
    is locked because two threads of the daemon may ask for a model neither has loaded yet.
    """

    name: ClassVar[str]
    providers: list[str] | None = None  # None: DEFAULT_PROVIDERS

    def __init__(self, providers: list[str] | None = None, verify: bool = False):
        self.providers = providers or self.providers
        self.verify = verify
        self._session = None
        self._lock = threading.Lock()

    @property
    def entry(self) -> dict[str, Any]:
        try:
            return manifest()[self.name]
        except KeyError:
            raise ModelError(f"model {self.name!r} has no models/manifest/{self.name}.json") from None

    @property
    def path(self) -> Path:
        return MODELS_DIR / self.entry["file"]

    def check(self) -> None:
        """Raise ModelError naming the file and how to rebuild it when it is missing or its sha256 is wrong."""
        path, entry = self.path, self.entry
        rebuild = f"rebuild it with: {entry.get('recipe', 'python models/export/<recipe>.py')}"
        if not path.is_file():
            raise ModelError(f"model file {path} is missing; {rebuild}")
        if sha256(path) != entry["sha256"]:
            raise ModelError(f"model file {path} is corrupted (sha256 differs from models/manifest/{self.name}.json); {rebuild}")

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self):
        with self._lock:
            if self._session is None:
                self._session = self._load()
        return self._session

    def _load(self):
        import onnxruntime as ort

        if self.verify or not self.path.is_file():
            self.check()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one session per worker process; see the module docstring
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        if int8_saturates():
            opts.add_session_config_entry(PRECISE_INT8, "1")
        providers = choose_providers(self.providers)
        try:
            session = ort.InferenceSession(self.source(), opts, providers=[(p, provider_options(p)) for p in providers])
        except Exception as e:  # onnxruntime raises its own types for a truncated or garbled file
            raise ModelError(f"model file {self.path} cannot be loaded ({e}); rebuild it: {self.entry.get('recipe')}") from e
        log.info("model %s on %s", self.name, session.get_providers()[0])
        return session

    def source(self) -> str | bytes:
        """What onnxruntime loads: the file's path, or (a subclass that adds a graph output) the model's bytes."""
        return str(self.path)

    @property
    def provider(self) -> str:
        return self.load().get_providers()[0]

    def run(self, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        return self.load().run(outputs, feeds)


def cpu_variant(fp32: type[OnnxModel], int8: type[OnnxModel], providers: list[str] | None = None,
                verify: bool = True) -> OnnxModel:
    """`int8` where onnxruntime runs on the CPU (faster by measurement) and its file is shipped (a recipe writes
    its manifest only when it holds parity with fp32), else `fp32`."""
    on_cpu = choose_providers(providers)[0] == "CPUExecutionProvider"
    return (int8 if on_cpu and int8.name in manifest() else fp32)(providers=providers, verify=verify)
