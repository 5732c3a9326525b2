"""``tells eval tracking --truth T.csv FRAMES``: score face ids against a truth file.

FRAMES is a per-frame table written by ``tells analyze`` (frames.csv or frames.parquet, or
the analysis folder), or a video, which is then tracked here (faces only, no AUs). The truth
file has one row per visible face per frame: ``frame, x, y, width, height, person``.

JSON output (``--json``) is one object: ``people, ids, idf1, idp, idr, mota, id_switches,
fragmentations, coverage, precision, false_positives, misses, longest_miss_s, fps,
per_person{label: {frames, covered, ids, longest_miss_s}}`` plus, for a video,
``identity_log`` (every id decision, with whether it was certain).
"""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import add_output_flags, print_json

_TABLES = (".csv", ".parquet")


def register(kinds) -> None:
    p = kinds.add_parser(
        "tracking",
        help="face ids against a truth file: IDF1, MOTA, id switches, fragmentation, coverage",
        description=(
            "Match tracked face boxes to truth boxes frame by frame (IoU >= --iou) and report "
            "the MOT identity metrics (IDF1, MOTA, id switches, fragmentations, with the "
            "motmetrics library), how many ids were given for how many people, the share of "
            "truth boxes covered, and each person's longest stretch without a matching face."
        ),
    )
    p.add_argument("--truth", required=True, type=Path, metavar="T.csv",
                   help="CSV with frame, x, y, width, height, person")
    p.add_argument("frames", type=Path, metavar="FRAMES",
                   help="frames.csv / frames.parquet / analysis folder, or a video to track")
    p.add_argument("--iou", type=float, default=0.5, help="IoU for a match (default 0.5)")
    p.add_argument("--faces", type=int, default=None, metavar="N",
                   help="with a video: the number of people expected (as tells analyze --faces)")
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.errors import InputError
    from tells.face.tracking_eval import read_truth, score

    if not 0.0 < args.iou <= 1.0:
        raise InputError(f"--iou must be in (0, 1], got {args.iou}")
    truth = read_truth(args.truth)
    frames, fps, log = _frames(args)
    res = score(truth, frames, min_iou=args.iou, fps=fps)
    if log is not None:
        res["identity_log"] = log
    if args.json:
        print_json(res)
        return 0
    print(f"people {res['people']}, ids {res['ids']}  ({res['frames_scored']} frames, "
          f"{res['truth_boxes']} truth boxes, IoU >= {res['min_iou']})")
    print(f"IDF1 {res['idf1']:.3f}  (IDP {res['idp']:.3f}, IDR {res['idr']:.3f})  "
          f"MOTA {res['mota']:.3f}")
    print(f"id switches {res['id_switches']}  fragmentations {res['fragmentations']}  "
          f"coverage {res['coverage']:.3f}  precision {res['precision']:.3f}  "
          f"longest miss {res['longest_miss_s']:.2f} s")
    for person, r in res["per_person"].items():
        print(f"  {person:<12} {r['frames']:>6} frames  covered {r['covered']:.3f}  ids "
              f"{r['ids']}  longest miss {r['longest_miss_s']:.2f} s")
    if log is not None:
        doubtful = [e for e in log if e["uncertain"]]
        print(f"identity decisions {len(log)}, uncertain {len(doubtful)}")
        for e in doubtful:
            print(f"  t={e['t']:.2f}s id {e['face_id']} ({e['kind']}): {e['note']} "
                  f"(distance {e['distance']}, runner-up {e['runner_up']})")
    return 0


def _frames(args):
    """(per-frame table, fps or None, identity log or None) from a table or a video."""
    from tells.errors import InputError

    path = args.frames
    if path.is_dir() or path.suffix.lower() in _TABLES:
        from tells.cli.eval_agreement import read_tells

        df = read_tells(path)
        need = {"frame", "face_id", "success", "x", "y", "width", "height"}
        if not need <= set(df.columns):
            raise InputError(f"{path}: not a tells frames table (needs {', '.join(sorted(need))})")
        return df, None, None
    from tells.config import Settings
    from tells.io.video import check_input_file, open_video
    from tells.pipeline import run

    settings = Settings(expected_faces=args.faces) if args.faces else Settings()
    with open_video(check_input_file(path), max_side=settings.max_side) as src:
        table, stats = run(src, settings, [])
        fps = src.info.fps
    return table.to_frame(), fps, stats.identities
