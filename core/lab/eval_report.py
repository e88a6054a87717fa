"""The numbers of `keepers eval`'s quality part (keepers.core.lab.eval) as the Markdown that docs/eval.md keeps."""

from __future__ import annotations

from keepers.core.lab.eval_flaws import KINDS, LEVELS

def report(m: dict) -> str:
    """The numbers as the Markdown that docs/eval.md keeps."""
    goal = lambda v, g: f"{v:.3f} {'✓' if v >= g else '✗'}"  # noqa: E731
    lines = [f"held-out photos: {m['photos']['clean']} clean (x {len(KINDS)} flaws x {len(LEVELS)} levels), "
             f"{m['photos']['real_defects']} real-defect, {m['closed_eyes']['photos']} labelled eye photos",
             "", "| measure | value | goal |", "|---|---|---|",
             f"| reference ranked above its distorted copy | {goal(m['pairs_right'], 0.95)} | ≥ 0.95 |",
             f"| AUC clean vs real-defect photos | {goal(m['clean_vs_real_defect_auc'], 0.95)} | ≥ 0.95 |",
             f"| (CBSD68 + McMaster vs real defects) | {m['goodbad_subset_auc']:.3f} | |",
             f"| real-defect photos judged bad / clean judged good | {m['real_defects_judged_bad']:.2f} / "
             f"{m['clean_judged_good']:.2f} | |"]
    # per flaw: the overall score's AUC, then the flaw's own scorer's
    rows = [(k, "flaw_auc", f"AUC clean vs {k} (levels 1-4: {{}}); pairs {m['pairs_right_by_kind'][k]:.2f}")
            for k in KINDS]
    rows += [(k, "flaw_scorer_auc", f"its flaw scorer: AUC {k} copies vs clean (levels 1-4: {{}})") for k in KINDS]
    for kind, key, label in rows:
        g = 0.95 if kind in ("gaussian_blur", "noise", "underexpose", "overexpose") else None
        v = m[key][kind]
        levels = ", ".join(f"{m[key + '_by_level'][kind][lv]:.2f}" for lv in LEVELS)
        lines.append(f"| {label.format(levels)} | {goal(v, g) if g else f'{v:.3f}'} | {'≥ 0.95' if g else ''} |")
    by_kind = ", ".join(f"{k} {m['first_reason_names_flaw_by_kind'][k]:.2f}" for k in KINDS)
    lines.append(f"| flawed copies judged bad whose first reason names the flaw ({by_kind}) | "
                 f"{m['first_reason_names_flaw']:.3f} | |")
    ce = m["closed_eyes"]
    lines.append(f"| closed eyes P / R / F1 | {ce['precision']:.3f} / {ce['recall']:.3f} / {goal(ce['f1'], 0.9)} "
                 "| F1 ≥ 0.9 |")
    return "\n".join(lines)
