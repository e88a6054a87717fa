"""Video: one frame per second of the clip (PyAV), each judged by the analyzers as a photo would be; a summary for
the whole clip goes into the clip's XMP sidecar."""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from typing import Callable, Iterator

import numpy as np

from keepers.core.analyzers import run_all
from keepers.core.types import Frame, Meta, Photo, Reason, Verdict
from keepers.sidecar.models import score_concepts
from keepers.sidecar.output import empty, failed, finding_dict, verdict_dict
from keepers.sidecar.paths import unreadable

log = logging.getLogger("keepers.sidecar.video")
SHARE = 1 / 3  # a keyword or reason speaks for the clip when at least this share of its seconds have it


class VideoError(Exception):
    pass


def sample(path: str, long_side: int = 1024,
           clock: dict | None = None) -> Iterator[tuple[int, np.ndarray, tuple[int, int]]]:
    """(second, RGB frame at most `long_side` wide or high, full (w, h)): the first frame at or after each whole
    second of the clip, counted from its first frame. `clock`, when given, gets "end": the seconds decoded, from
    the first frame to the end of the last (a 0.4 s clip is 0.4 s long, not the one second it is sampled at)."""
    import av

    if os.path.getsize(path) == 0:  # FFmpeg calls it "invalid data": a copy that never finished says more
        raise VideoError("file is empty (0 bytes)")  # as a photo's (keepers.core.io.loader_open)
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"cannot open the video: {_why(e)}") from None
    with container:
        if not container.streams.video:
            raise VideoError("the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding is the cost here
        start, wanted = None, 0
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                start = frame.time if start is None else start
                if clock is not None:
                    step = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else (
                        1 / float(stream.average_rate) if stream.average_rate else 0.0)
                    clock["end"] = frame.time - start + step
                second = int(math.floor(frame.time - start + 1e-6))
                if second < wanted:
                    continue  # not converted: only the sampled frames pay for scaling to RGB
                w, h = frame.width, frame.height
                k = min(1.0, long_side / max(w, h))
                small = frame.reformat(width=max(1, round(w * k)), height=max(1, round(h * k)), format="rgb24")
                yield second, small.to_ndarray(), (w, h)
                wanted = second + 1
        except av.error.FFmpegError as e:
            if start is None:
                raise VideoError(f"cannot decode the video: {_why(e)}") from None
            log.warning("%s: decoding stopped early: %s", path, e)  # a truncated clip keeps the seconds it has


def _why(e: Exception) -> str:
    """FFmpeg's reason without its error number and the path the message is given beside ("[Errno 1094995529]
    Invalid data found when processing input: '/card/clip.mp4'" -> "invalid data found when processing input: ...")."""
    text = getattr(e, "strerror", None) or str(e)
    text = text[:1].lower() + text[1:]
    if "invalid data" in text.lower():  # what a user can do about it
        text += " (damaged, cut short, or not a video)"
    return text


def judge(engine, path: str, analyzers, concepts=(), shown: set[str] | None = None,
          stopping: Callable[[], bool] | None = None) -> dict:
    """Every sampled second's findings and judgement, and the clip's summary judgement. `shown`: the models whose
    outputs each second lists (None: all); the judgement is made from every analyzer's, as a photo's is.
    `stopping`: true once the daemon stops; the clip then ends at its next second (engine.Stopping), unjudged and
    unwritten: a stop waited for every second left of it (23 s for two 2-minute 320x240 clips at once)."""
    from keepers.sidecar.engine import Stopping

    photo = Photo(path, "video")
    seconds, verdicts, clock = [], [], {}
    for second, rgb, (w, h) in sample(path, engine.settings.analysis_size, clock):
        if stopping is not None and stopping():
            raise Stopping()
        frame = Frame(photo, rgb, Meta(width=w, height=h), scale=rgb.shape[1] / w, source=f"{path}@{second}s")
        findings = run_all(frame, analyzers)  # one analyzer's bug costs that second this analyzer's opinion only
        findings += score_concepts(list(concepts), findings)
        v = engine.judge_frame(photo, findings)  # the judging step a photo gets
        # a second nothing could judge (analyzers that give no score) still has its outputs; it has no say in the
        # clip's judgement
        seconds.append({"t": second, "verdict": verdict_dict(v) if v.judged else None, "models": {
            f.analyzer: finding_dict(f) for f in findings if shown is None or f.analyzer in shown}})
        nsfw = next((f for f in findings if f.analyzer == "nsfw"), None)
        seconds[-1]["nsfw"] = nsfw.data.get("nsfw") if nsfw else None  # p(porn) this second
        if v.judged:
            verdicts.append((second, v))
    if not seconds:
        raise VideoError("the video has no decodable frame")
    # the length decoded, not the seconds sampled: it said 1.0 of a 0.4 s clip and 2.0 of a 1.2 s one
    duration = round(clock.get("end") or float(seconds[-1]["t"] + 1), 3)
    clip = summarise([v for _, v in verdicts], engine.settings) if verdicts else None
    scores = [v.score for _, v in verdicts]
    return {"duration": duration, "seconds": seconds, "verdict": clip,
            "summary": {"seconds": len(seconds), "score": clip and clip.score,
                        "min_score": min(scores, default=None), "max_score": max(scores, default=None),
                        "best_second": verdicts[int(np.argmax(scores))][0] if verdicts else None,
                        "verdict": clip and clip.verdict, "stars": clip and clip.stars,
                        "keywords": clip.keywords if clip else [],
                        "reasons": dict(Counter(r.code for _, v in verdicts for r in v.reasons if r.severity >= 0.3)),
                        "labels": labels(seconds)}}


def labels(seconds: list[dict], k: int = 5) -> list[list]:
    """What the clip shows: each (label, probability) an analyzer reports, averaged over all seconds, top k."""
    total: Counter = Counter()
    for s in seconds:
        for m in s["models"].values():
            for item in m["data"].get("labels") or []:
                if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], (int, float)):
                    total[str(item[0])] += float(item[1])
    return [[name, round(p / len(seconds), 4)] for name, p in total.most_common(k)]


def summarise(verdicts: list[Verdict], settings) -> Verdict:
    """The clip as one verdict: mean score; keywords and reasons present in at least a third of its seconds."""
    n = len(verdicts)
    score = round(float(np.mean([v.score for v in verdicts])), 2)
    need = max(1, math.ceil(n * SHARE))
    kw = Counter(k for v in verdicts for k in set(v.keywords))
    by_code: dict[str, list[Reason]] = {}
    for v in verdicts:
        for r in v.reasons:
            by_code.setdefault(r.code, []).append(r)
    reasons = [_over_seconds(code, rs, n) for code, rs in by_code.items() if len(rs) >= need]
    reasons.sort(key=lambda r: (-r.cost, -r.severity, r.code))
    thr = settings.good_threshold
    return Verdict(score=score, verdict="good" if score >= thr else "bad",
                   confidence=round(1.0 / (1.0 + math.exp(-1.5 * abs(score - thr))), 3),
                   stars=settings.stars.stars(score), reasons=reasons,
                   keywords=sorted(k for k, c in kw.items() if c >= need), judged_by="video")


def _over_seconds(code: str, rs: list[Reason], n: int) -> Reason:
    """One reason for the clip from the seconds that had it: the mean severity and points, in the words of the
    second nearest that mean, with the mean's points where its words gave points. The first second's words and
    points were kept: walk.mkv's 'appeal (+0.2): People like photos like this: +0.4 (in 3 of 3 seconds)'."""
    from keepers.core.judge.texts import plain

    cost = float(np.mean([r.cost for r in rs]))
    near = min(rs, key=lambda r: abs(r.cost - cost))
    words = plain(near, code=False)
    if words != near.message.strip():  # "...: +0.4": the points it gave or took, now the clip's
        words += f": {-cost:+.1f}"
    return Reason(code, f"{words} (in {len(rs)} of {n} second{'s' if n != 1 else ''})",
                  float(np.mean([r.severity for r in rs])), cost)


def write_sidecar(engine, path: str, judged: dict) -> tuple[list[str], str | None]:
    """The clip's judgement into its sidecar, with the score of each second (keepers:Timeline); (sidecar paths,
    error or None)."""
    from keepers.core.errors import WriteError
    from keepers.core.io.hosts import adapter_for
    from keepers.core.io.xmp import SidecarWriter

    host = adapter_for(engine.settings)  # the same host conventions as `keepers cull --host`
    timeline = [f"{s['t']}s={s['verdict']['score']}" for s in judged["seconds"] if s["verdict"]]
    sidecars = [str(host.sidecar(path))]
    if judged["verdict"] is None:  # nothing to write that a DAM could go by
        return sidecars, "not judged: no second of the clip could be judged"
    try:
        with SidecarWriter() as w:
            w.write(path, judged["verdict"], analyzers=engine.versions,
                    overwrite_ratings=engine.settings.overwrite_ratings, extra={"Timeline": timeline}, host=host)
    except WriteError as e:
        return sidecars, f"sidecar not written: {e.message}"
    return sidecars, None


def predict(engine, path: str, label: str, analyzers, concepts, *, write: bool = False,
            stopping: Callable[[], bool] | None = None) -> tuple[dict, int]:
    """The API's predict for a video: the clip's result (the same fields as a photo's, judged by its seconds),
    with one prediction list per second under `video`; it costs one operation per model per second. `stopping`:
    as judge's (engine.Stopping at the next second, nothing written)."""
    bad = unreadable(path)
    if bad:
        return failed(label, path, *bad), 0
    try:
        shown = {a.name for a in analyzers} | {c["name"] for c in concepts}
        judged = judge(engine, path, engine.analyzers, concepts, shown, stopping)
    except VideoError as e:
        return failed(label, path, "read_error", str(e)), 0
    v = judged["verdict"]
    if v is None:
        return failed(label, path, "not_judged", "not judged: no second of the clip could be judged"), 0
    nsfw = [s["nsfw"] for s in judged["seconds"] if s["nsfw"] is not None]
    rec = {**empty(label, path), **verdict_dict(v),
           "nsfw": max(nsfw) if nsfw else None,  # the clip's most explicit second
           "video": {k: judged[k] for k in ("duration", "seconds", "summary")}}
    if write:
        rec["sidecars"], err = write_sidecar(engine, path, judged)
        if err:
            rec["error"], rec["error_code"] = err, "write_error"
    return rec, (len(analyzers) + len(concepts)) * len(judged["seconds"])
