"""What a photographer reads of the reasons (issue 21: every verdict explainable), on real photos: the clean
benchmark photos (clean/CBSD68), the camera photos and the holiday photos people compared (taste/holidays), the
set the lead first counted this on (253 photos). Display only: nothing here changes a score.

- keepers listing a flaw that cost nothing: a measure found it, the judging step charged nothing (a white studio
  backdrop read as backlight, a calm sea as motion blur). `--json` keeps them all (role "measured"); `keepers show`,
  the cull's table, the sidecar and the review page leave them out on a keeper (core/judge/flaws.shown). "in --json"
  counts the keepers that carry one, which every view listed before;
- photos not kept whose table "why" starts with the points that put them there;
- sidecar lines that repeat their code ("noise: Noise: ...", core/judge/texts.line).

Findings come from the false-alarm measure's cache (core/lab/falsealarms.findings): a change to the judging step or
to how reasons read re-judges in seconds."""

from __future__ import annotations

import sys
from pathlib import Path

from keepers.core.lab.eval import DATA

SETS = ("clean/CBSD68", "camera/photos", "taste/holidays/images")


def measure(data: Path = DATA, workers: int = 2) -> dict:
    from types import SimpleNamespace

    from keepers.core.commands.cull import why
    from keepers.core.io.discover import discover
    from keepers.core.judge.flaws import MEASURED, role, shown
    from keepers.core.judge.judgement import judge
    from keepers.core.judge.texts import line
    from keepers.core.lab.falsealarms import all_findings
    from keepers.core.settings import Settings

    paths = [p.path for s in SETS if (data / s).is_dir() for p in discover([data / s])[0]]
    print(f"reasons: {len(paths)} real photos...", file=sys.stderr, flush=True)
    found = all_findings(paths, workers)
    settings = Settings()
    m = {"photos": 0, "keepers": 0, "measured_in_json": 0, "measured_shown": 0, "not_kept": 0, "why_points_first": 0,
         "lines": 0, "lines_repeating_code": 0, "old_lines": 0, "old_lines_repeating_code": 0, "codes": {},
         "examples": []}
    for path, fs in zip(paths, found):
        v = judge(fs, settings) if fs is not None else None
        if v is None or v.score is None:
            continue
        kept = v.verdict == "good"
        m["photos"] += 1
        listed = shown(v.reasons, kept)
        if kept:
            free = [r for r in v.reasons if role(r) == MEASURED]
            m["keepers"] += 1
            m["measured_in_json"] += bool(free)
            m["measured_shown"] += any(role(r) == MEASURED for r in listed)
            for r in free:
                m["codes"][r.code] = m["codes"].get(r.code, 0) + 1
            if free and len(m["examples"]) < 5:
                m["examples"].append(f"{Path(path).relative_to(data)} ({v.score:.1f}): {free[0].message}")
        else:
            m["not_kept"] += 1
            m["why_points_first"] += why(SimpleNamespace(reasons=v.reasons, verdict=v.verdict)).startswith("-")
        for r in listed:
            words = r.code.replace("_", " ")
            m["lines"] += 1
            m["lines_repeating_code"] += line(r).partition(": ")[2].casefold().startswith(words)
        m["old_lines"] += len(v.reasons)
        m["old_lines_repeating_code"] += sum(r.message.casefold().startswith(r.code.replace("_", " "))
                                             for r in v.reasons)
    return m


def report(m: dict) -> list[str]:
    codes = ", ".join(f"{c} {n}" for c, n in sorted(m["codes"].items(), key=lambda x: -x[1]))
    return [f"{m['photos']} real photos ({', '.join(SETS)}), {m['keepers']} keepers:", "",
            f"- keepers with a flaw that cost nothing in --json: {m['measured_in_json']} ({codes}); listed as a flaw "
            f"by show, the table, the sidecar and the review page: {m['measured_shown']}",
            f"- photos not kept whose table 'why' starts with the points that put them there: {m['why_points_first']} "
            f"of {m['not_kept']}",
            f"- sidecar reason lines repeating their code: {m['lines_repeating_code']} of {m['lines']} (written as "
            f"'code: message', every reason: {m['old_lines_repeating_code']} of {m['old_lines']})",
            *[f"- e.g. {e}" for e in m["examples"]]]


if __name__ == "__main__":  # python -m keepers.core.lab.reasons [DATA]
    print("\n".join(report(measure(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA))))
