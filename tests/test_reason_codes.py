"""Reason codes are a stable vocabulary users filter by: every code the analyzers can give is documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def codes_in_source() -> set[str]:
    found = set()
    for path in list((ROOT / "core").rglob("*.py")) + list((ROOT / "sidecar").rglob("*.py")):
        text = path.read_text()
        found |= set(re.findall(r'Reason\(\s*"([a-z_]+)"', text))
    from keepers.core.judge.judgement import FLAW_REASONS  # the head's guesses, given by variable

    return found | {code for code, _ in FLAW_REASONS.values()}


def test_every_reason_code_the_analyzers_give_is_documented_in_the_readme():
    table = (ROOT / "README.md").read_text().split("### Reason codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", table))
    codes = codes_in_source()
    assert {"out_of_focus", "closed_eyes", "red_eye", "tilted_horizon", "jpeg_artifacts"} <= codes  # the scan works
    assert codes - documented == set()
