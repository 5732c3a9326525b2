"""``tells eval spotting``: score spotted intervals against annotated ones (MEGC protocol).

JSON output (``--json``) is one object::

    {
      "protocol": "MEGC interval IoU spotting",
      "iou_threshold": 0.5,
      "unit": "frames" | "seconds",
      "micro":   {"tp", "fp", "fn", "n_truth", "n_pred", "precision", "recall", "f1"},
      "macro":   {... same keys ...},
      "overall": {... same keys; counts are micro + macro ...},
      "n_videos": int,
      "videos_only_in_truth": [names], "videos_only_in_pred": [names],
      "truth": {"path", "format", "events"}, "pred": {"path", "format", "events"},
      "frame_offset": int
    }

precision, recall and f1 are null when their denominator is zero (e.g. no truth and no
prediction of a kind).
"""

from __future__ import annotations

import sys

from tells.cli.common import add_output_flags, print_json

_FORMAT_HELP = (
    "tells: events.csv/.json or a folder of per-video analysis folders; casme2: CASME II "
    "coding sheet; cas-me-2: CAS(ME)^2 sheet (no header); samm-lv: SAMM Long Videos sheet"
)


def register(kinds) -> None:
    p = kinds.add_parser(
        "spotting",
        help="MEGC spotting protocol: interval IoU >= 0.5, P/R/F1 for micro, macro, overall",
        description=(
            "Match predicted expression intervals to annotated ones per video and kind (a "
            "match needs IoU >= 0.5; each interval is matched at most once), pool TP/FP/FN "
            "over all videos, and report precision, recall and F1 for micro, macro and overall."
        ),
    )
    p.add_argument("--truth", required=True, metavar="T", help="annotation file or folder")
    p.add_argument("--pred", required=True, metavar="P", help="predicted events file or folder")
    p.add_argument(
        "--format", dest="truth_format", default="tells",
        choices=["tells", "casme2", "cas-me-2", "samm-lv"],
        help=f"layout of --truth (default tells). {_FORMAT_HELP}",
    )
    p.add_argument(
        "--pred-format", default="tells", choices=["tells", "casme2", "cas-me-2", "samm-lv"],
        help="layout of --pred (default tells)",
    )
    p.add_argument("--iou", type=float, default=0.5, help="IoU threshold (default 0.5, MEGC)")
    p.add_argument(
        "--frame-offset", type=int, default=0,
        help="added to predicted frame numbers before matching; use 1 to score tells output "
        "(frames from 0) against CAS(ME)^2 or SAMM sheets (frames from 1)",
    )
    p.add_argument("--matches", metavar="CSV", help="also write one row per interval "
                   "(TP/FP/FN with its IoU) to this CSV")
    add_output_flags(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from tells.errors import OutputError
    from tells.spotting.annotations import check_video_overlap, read_events
    from tells.spotting.evaluate import align_videos, evaluate_spotting

    truth = read_events(args.truth, args.truth_format)
    pred = read_events(args.pred, args.pred_format)
    truth, pred = align_videos(truth, pred)
    check_video_overlap(truth, pred)
    result = evaluate_spotting(truth, pred, iou_threshold=args.iou,
                               frame_offset=args.frame_offset)
    if args.matches:
        try:
            result.matches.to_csv(args.matches, index=False)
        except OSError as exc:
            raise OutputError(f"{args.matches}: cannot write ({exc.strerror})") from None
    summary = result.as_dict()
    summary["truth"] = {"path": str(args.truth), "format": args.truth_format,
                        "events": int(len(truth))}
    summary["pred"] = {"path": str(args.pred), "format": args.pred_format,
                       "events": int(len(pred))}
    summary["frame_offset"] = args.frame_offset
    if args.json:
        print_json(summary)
        return 0
    print(format_table(summary))
    for side in ("truth", "pred"):
        missing = summary[f"videos_only_in_{side}"]
        if missing and not args.quiet:
            other = "predictions" if side == "truth" else "truth"
            print(f"note: {len(missing)} video(s) only in {side} (none in {other}), e.g. "
                  f"{missing[0]}", file=sys.stderr)
    return 0


def format_table(summary: dict) -> str:
    """The human table: one line per micro, macro, overall."""
    def num(v) -> str:
        return "    -" if v is None else f"{v:.3f}"

    lines = [
        f"MEGC spotting, IoU >= {summary['iou_threshold']:g} ({summary['unit']}), "
        f"{summary['n_videos']} video(s)",
        f"{'':8} {'TP':>5} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7} {'F1':>6}",
    ]
    for kind in ("micro", "macro", "overall"):
        c = summary[kind]
        lines.append(
            f"{kind:8} {c['tp']:>5} {c['fp']:>5} {c['fn']:>5} {num(c['precision']):>9} "
            f"{num(c['recall']):>7} {num(c['f1']):>6}"
        )
    return "\n".join(lines)
