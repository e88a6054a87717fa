"""`keepers models`: lists the bundled models and catches a corrupted or missing file, naming how to rebuild it."""

import shutil

from helpers import keepers

from keepers.core.commands import models as models_cli
from keepers.core.inference import runtime


def test_every_bundled_model_is_listed_and_intact(tmp_path):
    proc = keepers("models", "--json", tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert "CPUExecutionProvider" in report["providers"]
    names = {m["name"] for m in report["models"]}
    assert "efficientnet_lite0" in names
    assert all(m["state"] == "ok" and m["bytes"] > 0 for m in report["models"])


def test_a_corrupted_or_missing_model_file_is_named_with_its_rebuild_command(tmp_path, monkeypatch):
    copy = tmp_path / "models"
    shutil.copytree(runtime.MODELS_DIR, copy, ignore=shutil.ignore_patterns("export", "train", "__pycache__"))
    data = bytearray((copy / "efficientnet_lite0.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "efficientnet_lite0.onnx").write_bytes(bytes(data))
    (copy / "manifest" / "efficientnet_lite0.int8.json").exists() and (copy / "efficientnet_lite0.int8.onnx").unlink()
    monkeypatch.setattr(runtime, "MODELS_DIR", copy)
    monkeypatch.setattr(models_cli, "MODELS_DIR", copy)
    rows = {r["name"]: r["state"] for r in models_cli.check_all()}
    assert rows["efficientnet_lite0"].startswith("CORRUPTED") and "efficientnet_lite0.onnx" in rows["efficientnet_lite0"]
    assert "models/export/efficientnet_lite0.py" in rows["efficientnet_lite0"]
    if "efficientnet_lite0.int8" in rows:
        assert rows["efficientnet_lite0.int8"].startswith("MISSING")


def test_every_keepers_function_a_model_card_names_exists():
    # A model card says which of Keepers' functions prepares a model's input; after a module moves, a card naming the
    # old place sends whoever rebuilds or audits the model to code that is not there.
    import importlib
    import re

    missing = []
    for card in sorted((runtime.MODELS_DIR / "manifest").glob("*.json")):
        for dotted in sorted(set(re.findall(r"keepers(?:\.\w+)+", card.read_text()))):
            parts = dotted.split(".")
            for i in range(len(parts), 1, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                    break
                except ImportError:
                    continue
            else:
                missing.append(f"{card.name}: {dotted}")
                continue
            for attr in parts[i:]:
                if not hasattr(obj, attr):
                    missing.append(f"{card.name}: {dotted}")
                    break
                obj = getattr(obj, attr)
    assert not missing, missing
