"""What a run knows of one photo once it has run (`Result`), and its `--json` record (the contract of
`keepers cull --json`: ../shared/tools/checks/contract_check.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keepers.core.judge.flaws import role
from keepers.core.types import Finding, Judgement, Meta, Photo


@dataclass
class Result:
    """Everything known about one photo after a run; `record()` is its `--json` line."""

    photo: Photo
    photo_id: int | None = None
    meta: Meta | None = None
    findings: list[Finding] = field(default_factory=list)
    verdict: Judgement | None = None  # the judging step's, with the photo's group
    error: str | None = None
    analyzed: bool = False  # decoded and analysed in this run (False: from the catalog)
    sidecars: list[str] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)  # files whose own XMP holds the verdict (--embed)
    via_plugin: list[str] = field(default_factory=list)  # files the host reads no sidecar for: its plug-in applies it
    write_error: str | None = None

    def record(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "path": self.photo.path,
            "files": self.photo.files,
            "score": v.score if v else None,
            "verdict": v.verdict if v else None,
            "confidence": v.confidence if v else None,
            "stars": v.stars if v else None,
            # each reason with what it did: took, gave, a note, or a flaw measured and not charged (core/judge/flaws)
            "reasons": [{**r.as_dict(), "role": role(r)} for r in v.reasons] if v else [],
            "keywords": v.keywords if v else [],
            "group": v.group if v else None,
            "pick": bool(v.pick) if v else False,
            "judged_by": v.judged_by if v else None,
            "nsfw": next((f.data.get("nsfw") for f in self.findings if f.analyzer == "nsfw"), None),  # p(porn)
            "sidecars": self.sidecars,
            "embedded": self.embedded,
            "via_plugin": self.via_plugin,
            "error": self.error or self.write_error,
        }
