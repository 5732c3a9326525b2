"""``tells eval flashes SOURCE``: METT-style flash clips from labelled faces, analysed like any
video and scored (spotted share, event emotion, per-class recall, confusion, false events per
clip), with the bare CNN on the apex frame as the reference line. See
:mod:`tells.spotting.flashes` for the inputs and the clip layout."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from tells.cli.common import add_output_flags, failures, print_failures, print_json, progress
from tells.errors import InputError, OutputError, TellsError


def _floats(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--flash takes seconds separated by commas, got {text!r}") from None
    if not vals or any(not 0.02 <= v <= 4.0 for v in vals):
        raise InputError("--flash lengths must be between 0.02 and 4 seconds")
    return vals


def register(kinds) -> None:
    p = kinds.add_parser(
        "flashes", help="flash labelled faces as micro/macro clips and score the events",
        description="Turn labelled photo pairs (DIR/<label>/<item>/neutral.* + expression.*, "
        "or a CSV with columns neutral,expression,label[,subject]) or onset-to-apex image "
        "sequences (DIR/<label>/<sequence>/*.png, or DIR/<sequence>/ with --labels) into "
        "METT-style flash clips, analyse each clip as a video and report: share of flashes "
        "spotted, event emotion right, per-class recall, confusion, false events per clip, "
        "and the bare CNN on the apex frame as a reference.")
    p.add_argument("source", type=Path, help="folder of pairs or sequences, or a pairs CSV")
    p.add_argument("--labels", type=Path, metavar="CSV",
                   help="sequence,label CSV for DIR/<sequence>/ folders")
    p.add_argument("--flash", default="0.4", metavar="S[,S...]",
                   help="flash length(s) in seconds for the micro variant (default 0.4)")
    p.add_argument("--variant", choices=["micro", "macro", "both"], default="micro",
                   help="micro: hard cut (pairs) or onset-apex-onset squeezed into the flash "
                   "(sequences); macro: eased in and held --hold seconds (default micro)")
    p.add_argument("--hold", type=float, default=1.0, help="macro apex hold in seconds")
    p.add_argument("--fps", type=float, default=30.0, help="clip frame rate (default 30)")
    p.add_argument("--seq-fps", type=float, default=30.0,
                   help="frame rate the sequences were recorded at (macro variant)")
    p.add_argument("--no-align", action="store_true",
                   help="do not register expression images onto the neutral")
    p.add_argument("--limit", type=int, default=0, help="use only the first N items")
    p.add_argument("--jobs", type=int, default=1,
                   help="clips analysed at once in worker processes (default 1)")
    p.add_argument("--out", type=Path, help="write clips.csv and metrics.json here")
    p.add_argument("--keep-clips", action="store_true", help="with --out, keep the mp4 clips")
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _cases(args) -> list[tuple[str, float]]:
    flashes = _floats(args.flash)
    cases = []
    if args.variant in ("micro", "both"):
        cases += [("micro", f) for f in flashes]
    if args.variant in ("macro", "both"):
        cases.append(("macro", args.hold))
    return cases


def _one(job: tuple) -> dict:
    """Render, encode, analyse and score one clip (runs in a worker process with --jobs)."""
    import tells
    from tells.emotion.cnn import CNN_CLASSES, bare_cnn
    from tells.spotting.flashes import make_clip, score_clip, write_clip

    item, variant, seconds, path, opts = job
    row = {"case": f"{variant}@{seconds:g}s", "item": item.name, "label": item.label,
           "subject": item.subject}
    try:
        clip = make_clip(item, flash_s=seconds, variant=variant, **opts)
        write_clip(clip, path)
        result = tells.analyze_video(path, report=False)
        row.update(score_clip(result.events.to_dict(orient="records"), clip))
        cnn = bare_cnn(clip.frames[clip.apex_index])
        row["cnn_apex"] = CNN_CLASSES[int(np.argmax(cnn))]
        row["face_rows"] = int((result.frames["success"] == 1).sum())
        row["frames"] = len(clip.frames)
    except TellsError as exc:
        row["error"] = str(exc)
    except Exception as exc:  # a bug in one clip: recorded and counted, the others still run
        if os.environ.get("TELLS_DEBUG"):
            raise
        row["error"] = f"internal error: {type(exc).__name__}: {exc}"
    return row


def evaluate(items, cases, *, fps=30.0, seq_fps=30.0, hold_s=1.0, align=True, show=False,
             clip_dir: Path | None = None, jobs: int = 1) -> tuple[list[dict], list[dict]]:
    """Analyse every item under every ``(variant, seconds)`` case (``jobs`` processes at
    once); returns ``(summaries, rows)`` (one summary per case, one row per clip)."""
    opts = {"fps": fps, "seq_fps": seq_fps, "hold_s": hold_s, "align": align}
    with tempfile.TemporaryDirectory(prefix="tells-flashes-") as tmp, \
            progress("clips", len(items) * len(cases), enabled=show, unit="clips") as advance:
        work = clip_dir or Path(tmp)
        todo = [(item, variant, seconds, work / f"{variant}_{seconds:g}_{k:05d}.mp4", opts)
                for variant, seconds in cases for k, item in enumerate(items)]
        rows = []
        if jobs <= 1:
            for job in todo:
                rows.append(_one(job))
                advance(1)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
                for row in pool.map(_one, todo, chunksize=4):
                    rows.append(row)
                    advance(1)
    return [summarise(rows, case) for case in dict.fromkeys(r["case"] for r in rows)], rows


def _recall(rows: list[dict], key: str) -> dict[str, float]:
    out = {}
    for lab in sorted({r["label"] for r in rows}):
        mine = [r for r in rows if r["label"] == lab]
        out[lab] = round(sum(r.get(key) == lab for r in mine) / len(mine), 3)
    return out


def _errors(rows: list[dict], case: str) -> dict:
    """How many clips of ``case`` could not be analysed, and why for the first few."""
    return failures([f"{r['item']}: {r['error']}" for r in rows
                     if r["case"] == case and "error" in r])


def summarise(rows: list[dict], case: str) -> dict:
    """Figures for one case: shares over all clips (a flash not spotted counts as wrong)."""
    mine = [r for r in rows if r["case"] == case and "error" not in r]
    n = len(mine)
    if not n:
        return {"case": case, "clips": 0, **_errors(rows, case)}
    spotted = [r for r in mine if r["spotted"]]
    labels = sorted({r["label"] for r in mine})
    preds = sorted({r["emotion"] or "missed" for r in mine})
    confusion = {lab: dict(Counter((r["emotion"] or "missed") for r in mine if r["label"] == lab))
                 for lab in labels}
    return {
        "case": case, "clips": n, **_errors(rows, case),
        "spotted": round(len(spotted) / n, 3),
        "spotted_iou50": round(sum(r["iou"] >= 0.5 for r in mine) / n, 3),
        "emotion_right": round(sum(r["emotion"] == r["label"] for r in mine) / n, 3),
        "emotion_right_of_spotted": (round(sum(r["emotion"] == r["label"] for r in spotted)
                                           / len(spotted), 3) if spotted else None),
        "recall": _recall(mine, "emotion"),
        "false_events_per_clip": round(sum(r["false_events"] for r in mine) / n, 3),
        "cnn_apex_right": round(sum(r["cnn_apex"] == r["label"] for r in mine) / n, 3),
        "cnn_apex_recall": _recall(mine, "cnn_apex"),
        "confusion": {"labels": labels, "predicted": preds, "counts": confusion},
    }


def _print(summary: dict) -> None:
    if not summary.get("clips"):
        print(f"{summary['case']}: no clip could be analysed ({summary.get('errors', 0)} errors)")
        print_failures(summary, "not analysed", "clips.csv")
        return
    s = summary
    print(f"{s['case']}: {s['clips']} clips"
          f"{', ' + str(s['errors']) + ' NOT ANALYSED (partial result)' if s['errors'] else ''}")
    print_failures(s, "not analysed", "clips.csv")
    print(f"  spotted {s['spotted']:.3f} (IoU>=0.5 {s['spotted_iou50']:.3f})   "
          f"event emotion right {s['emotion_right']:.3f}   "
          f"false events per clip {s['false_events_per_clip']:.2f}")
    print(f"  reference: bare CNN on the apex frame right {s['cnn_apex_right']:.3f} "
          "(it has no contempt class)")
    print(f"  {'label':<11}{'recall':>8}{'CNN':>8}")
    for lab, r in s["recall"].items():
        print(f"  {lab:<11}{r:>8.3f}{s['cnn_apex_recall'][lab]:>8.3f}")
    cols = s["confusion"]["predicted"]
    print("  confusion (rows truth, columns event emotion):")
    print("  " + " " * 11 + "".join(f"{c[:8]:>9}" for c in cols))
    for lab in s["confusion"]["labels"]:
        counts = s["confusion"]["counts"][lab]
        print(f"  {lab:<11}" + "".join(f"{counts.get(c, 0):>9}" for c in cols))


def _handler(args) -> int:
    from tells.spotting.flashes import read_items

    items = read_items(args.source, args.labels)
    if args.limit:
        items = items[: args.limit]
    cases = _cases(args)
    clip_dir = None
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            if args.keep_clips:
                clip_dir = args.out / "clips"
                clip_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{args.out}: cannot write ({exc.strerror})") from None
    summaries, rows = evaluate(items, cases, fps=args.fps, seq_fps=args.seq_fps,
                               hold_s=args.hold, align=not args.no_align,
                               show=not (args.quiet or args.json), clip_dir=clip_dir,
                               jobs=max(1, args.jobs))
    result = {"items": len(items), "kinds": dict(Counter(i.kind for i in items)),
              "cases": summaries}
    if args.out is not None:
        _write(args.out, result, rows)
    if args.json:
        print_json(result)
    else:
        kinds = ", ".join(f"{v} {k}s" for k, v in result["kinds"].items())
        print(f"{len(items)} labelled items ({kinds})")
        for s in summaries:
            _print(s)
    if not any(s["clips"] for s in summaries):  # nothing measured: a failure, said once
        first = next(r for r in rows if "error" in r)
        raise InputError(f"{args.source}: no clip could be analysed (first: {first['item']}: "
                         f"{first['error']})")
    return 0


def _write(out: Path, result: dict, rows: list[dict]) -> None:
    import csv

    cols = ["case", "item", "label", "subject", "spotted", "emotion", "confidence", "iou",
            "false_events", "cnn_apex", "face_rows", "frames", "error"]
    try:
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        with open(out / "clips.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror})") from None
