"""``tells research``: benchmark protocols on licensed data the user holds.

``tells research loso --manifest M.csv -o DIR`` runs MEGC leave-one-subject-out recognition
(:mod:`tells.research.loso`); ``tells research make-demo -o DIR`` writes a generated flow data
set to try it on (:mod:`tells.research.synthetic`). PyTorch is optional (``pip install
'tells[research]'``) and imported only when a command needs it.

``loso --json`` prints the metrics object also written to ``DIR/metrics.json``: ``classes``,
``n_samples``, ``n_subjects``, ``datasets``, ``config``, ``flow`` (how many flows were
computed, how many without a face), ``results`` (for ``cnn`` — the ensemble —, ``cnn_single``
and ``linear``: ``overall`` and ``per_dataset`` each with ``uf1``, ``uar``, ``n`` and
``per_class`` counts), ``folds`` (per test subject: sizes, epochs chosen on the inner split,
inner validation curve, linear L2, seconds) and ``seconds``.
"""

from __future__ import annotations

import os
import sys

from tells.cli.common import add_output_flags, print_json, progress


def register(sub) -> None:
    p = sub.add_parser("research", help="research protocols (leave-one-subject-out recognition)")
    kinds = p.add_subparsers(dest="research_kind", metavar="KIND")

    lo = kinds.add_parser(
        "loso",
        help="MEGC leave-one-subject-out recognition on flow images (UF1/UAR)",
        description=(
            "Train and test a compact CNN on onset->apex flow images (u, v, optical strain) "
            "with leave-one-subject-out folds. Epoch count and the baseline's regularisation "
            "are chosen on a split of the training subjects only. Prints UF1/UAR overall and "
            "per dataset for the CNN ensemble, one CNN, and a linear baseline. Manifest "
            "columns: dataset, subject, sample, label, and flow (3-channel image or .npy) or "
            "onset and apex (face images; tells aligns them and computes DIS flow). Needs "
            "PyTorch: pip install 'tells[research]'."
        ),
    )
    lo.add_argument("--manifest", required=True, metavar="M.csv")
    lo.add_argument("-o", "--output", required=True, metavar="DIR",
                    help="folder for predictions.csv and metrics.json")
    lo.add_argument("--seed", type=int, default=0, help="seed (default 0); the same command repeats bit for bit")
    lo.add_argument("--epochs", type=int, default=30,
                    help="most epochs per CNN (default 30; the inner split picks how many)")
    lo.add_argument("--ensemble", type=int, default=3, help="CNNs averaged per fold (default 3)")
    lo.add_argument("--size", type=int, default=24,
                    help="flow image side fed to the CNN (default 24)")
    lo.add_argument("--batch-size", type=int, default=32, help="CNN batch size (default 32)")
    lo.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="folds run in parallel, one thread each (default: up to 2)")
    lo.add_argument("--no-flip", action="store_true", help="no horizontal-mirror augmentation")
    lo.add_argument("--no-balance", action="store_true", help="no class-balanced loss")
    lo.add_argument("--no-align", action="store_true",
                    help="onset/apex rows: use whole images, no face alignment")
    add_output_flags(lo)
    lo.set_defaults(handler=run_loso_cmd)

    demo = kinds.add_parser(
        "make-demo",
        help="write a generated flow data set (and manifest.csv) to try loso on",
        description=(
            "Generated 3-class flow images with action-unit-like motion, subject and dataset "
            "variation; default 450 samples of 68 subjects in 3 datasets, like MEGC2019. "
            "Its scores show the pipeline works, not how a model does on real faces."
        ),
    )
    demo.add_argument("-o", "--output", required=True, metavar="DIR")
    demo.add_argument("--samples", type=int, default=450)
    demo.add_argument("--seed", type=int, default=0)
    add_output_flags(demo)
    demo.set_defaults(handler=run_make_demo)

    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def run_loso_cmd(args) -> int:
    from tells.errors import InputError
    from tells.research.loso import LosoConfig, run_loso

    if min(args.epochs, args.ensemble, args.jobs, args.batch_size) < 1 or args.size < 8:
        raise InputError("--epochs, --ensemble, --jobs and --batch-size must be at least 1, "
                         "--size at least 8")
    cfg = LosoConfig(
        seed=args.seed, epochs=args.epochs, ensemble=args.ensemble, size=args.size,
        batch_size=args.batch_size,
        jobs=args.jobs, flip=not args.no_flip, balance=not args.no_balance,
        align=not args.no_align,
    )
    show = not (args.quiet or args.json)
    metrics = run_loso(args.manifest, args.output, cfg,
                       progress=(lambda d, t, unit: progress(d, t, enabled=show, unit=unit)))
    if args.json:
        print_json(metrics)
        return 0
    if not args.quiet:
        print(format_results(metrics))
        print(f"wrote {os.path.join(args.output, 'predictions.csv')} and metrics.json "
              f"({metrics['seconds']['total']:.0f} s)", file=sys.stderr)
    return 0


def format_results(metrics: dict) -> str:
    """UF1/UAR table: one row per model, columns overall and each dataset."""
    res = metrics["results"]
    datasets = sorted(metrics["datasets"])
    names = {"cnn": f"CNN x{metrics['config']['ensemble']}", "cnn_single": "CNN single",
             "linear": "linear"}
    head = f"{'':12} {'overall':>13}" + "".join(f" {d[:13]:>13}" for d in datasets)
    lines = [
        f"LOSO, {metrics['n_samples']} samples, {metrics['n_subjects']} subjects, classes "
        f"{', '.join(metrics['classes'])}   (UF1 / UAR)",
        head,
    ]

    def cell(m):
        if m["uf1"] is None:
            return f"{'-':>13}"
        return f"{m['uf1']:.3f} / {m['uar']:.3f}".rjust(13)

    for model in ("cnn", "cnn_single", "linear"):
        r = res[model]
        lines.append(f"{names[model]:12} {cell(r['overall'])}"
                     + "".join(f" {cell(r['per_dataset'][d])}" for d in datasets))
    flow = metrics.get("flow", {})
    if flow.get("no_face"):
        lines.append(f"note: no face found in {flow['no_face']} of {flow['computed_flow']} "
                     "onset/apex pairs; whole images were used for them")
    return "\n".join(lines)


def run_make_demo(args) -> int:
    from tells.errors import InputError, OutputError
    from tells.research.synthetic import DATASETS, make_flow_dataset

    if args.samples < sum(d[1] for d in DATASETS):
        raise InputError(f"--samples must be at least {sum(d[1] for d in DATASETS)} "
                         "(one per subject)")
    try:
        manifest = make_flow_dataset(args.output, n_samples=args.samples, seed=args.seed)
    except OSError as exc:
        raise OutputError(f"{args.output}: cannot write ({exc.strerror})") from None
    summary = {
        "manifest": os.path.join(args.output, "manifest.csv"),
        "samples": int(len(manifest)),
        "subjects": int((manifest["dataset"] + "/" + manifest["subject"]).nunique()),
        "labels": {k: int(v) for k, v in manifest["label"].value_counts().items()},
    }
    if args.json:
        print_json(summary)
    elif not args.quiet:
        print(f"wrote {summary['manifest']}: {summary['samples']} samples, "
              f"{summary['subjects']} subjects, {summary['labels']}")
    return 0
