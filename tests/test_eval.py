"""`keepers eval` as a user runs it: on a thin slice of the development data, its JSON is what a script can read."""

from __future__ import annotations

import json
import math

from helpers import keepers


def test_eval_json_is_one_json_document_with_every_measure(shared_data, tmp_path):
    # every 40th held-out photo: a rough look in seconds; progress goes to stderr, so stdout parses whole
    # (the other parts: false alarms, cross-flaw calibration and people's preference take minutes each)
    proc = keepers("eval", "--only", "quality", "--every", "40", "--workers", "1", "--json", "--data", shared_data,
                   tmp=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    parts = json.loads(proc.stdout)
    assert list(parts) == ["quality"]
    m = parts["quality"]
    assert "photos..." in proc.stderr
    assert m["photos"]["clean"] >= 3 and m["photos"]["real_defects"] >= 1 and m["closed_eyes"]["photos"] >= 10
    shares = [m["pairs_right"], m["clean_vs_real_defect_auc"], m["first_reason_names_flaw"], m["closed_eyes"]["f1"],
              *m["flaw_auc"].values(), *m["flaw_scorer_auc"].values()]
    assert all(0.0 <= v <= 1.0 for v in shares if not math.isnan(v)), m
    assert m["first_reason_names_flaw"] > 0.5  # a flawed photo judged bad mostly names its flaw first
