"""``tells live``: analyse a camera, the screen or a window, a stream, or a file played in real
time, with an alert for each expression shortly after it ends (:mod:`tells.live`)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from tells.errors import InputError

SOURCES = ("camera", "screen", "window", "stream", "file")


def register(sub) -> None:
    p = sub.add_parser(
        "live", help="analyse a camera, screen/window, stream or file in real time, with alerts",
        description="Analyse faces live and alert on each micro- or macro-expression shortly "
        "after it ends. The live page (http://127.0.0.1:PORT/, --open starts the browser) shows "
        "the picture with face boxes, each face's emotion and action units, a timeline and an "
        "alert card per event. Frames are dropped at the source when analysis falls behind "
        "(counted and shown). Tell the people on camera that their expressions are analysed; "
        "micro-expressions are cues, not proof of lying.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", nargs="?", const="0", metavar="N",
                     help="camera number or device (default 0; v4l2, avfoundation or dshow)")
    src.add_argument("--screen", nargs="?", const="", metavar="X,Y,W,H",
                     help="the screen, or an area of it (x11grab, gdigrab, avfoundation)")
    src.add_argument("--window", metavar="TITLE",
                     help="the window whose title contains TITLE (e.g. the call window)")
    src.add_argument("--stream", metavar="URL", help="an RTSP/RTMP/HTTP or any FFmpeg input")
    src.add_argument("--file", type=Path, metavar="VIDEO",
                     help="a video file (with --realtime: played at its own pace)")
    p.add_argument("--realtime", action="store_true",
                   help="play --file (or a stream) at its own pace, dropping frames like a live "
                        "source when analysis falls behind")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="record the session: the files tells analyze writes (without -o "
                        "nothing is stored)")
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after S seconds of analysis")
    p.add_argument("--delay", type=float, default=None, metavar="S",
                   help="decision delay after an event's offset (default 0.3 s)")
    p.add_argument("--fps", type=float, default=30.0, help="capture rate of cameras and screens")
    p.add_argument("--max-faces", type=int, default=None, help="faces to follow (default 8)")
    p.add_argument("--queue", type=int, default=None,
                   help="frames that may wait for analysis before one is dropped, chosen "
                        "to thin the frames evenly (default 6; a --file without --realtime "
                        "waits instead: nothing is dropped)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--open", action="store_true", help="open the live page in the browser")
    view.add_argument("--no-view", action="store_true",
                      help="no live page: alerts in a live table in the terminal")
    p.add_argument("--port", type=int, default=0,
                   help="port of the live page on 127.0.0.1 (default: a free one)")
    p.add_argument("--json", action="store_true",
                   help="alerts as JSON lines on stdout (start, event…, end)")
    p.add_argument("--no-report", action="store_true", help="with -o: skip report.html")
    p.add_argument("--quiet", "-q", action="store_true", help="no status output on stderr")
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.config import Settings
    from tells.live.session import CONSENT_NOTE, LiveSession
    from tells.live.sources import DEFAULT_QUEUE, open_capture
    from tells.live.spotter import DEFAULT_DELAY_S

    kind = next(k for k in SOURCES if getattr(args, k) is not None)
    if args.realtime and kind not in ("file", "stream"):
        raise InputError("--realtime paces a --file or --stream (live sources have their own "
                         "pace)")
    if args.duration is not None and args.duration <= 0:
        raise InputError("--duration takes a positive number of seconds")
    settings = Settings()
    if args.max_faces:
        settings = settings.with_(max_faces=args.max_faces)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    say(f"tells live: {CONSENT_NOTE}")
    recorder = None
    if args.output is not None:
        from tells.live.record import Recorder

        recorder = Recorder(args.output, report=not args.no_report)
    capture = open_capture(kind, str(getattr(args, kind)), realtime=args.realtime,
                           fps=args.fps, max_side=settings.max_side,
                           queue_size=DEFAULT_QUEUE if args.queue is None else args.queue)
    sinks: list = []
    server = None
    if not args.no_view:
        from tells.live.server import LivePage

        server = LivePage(port=args.port)
        sinks.append(server)
        say(f"tells live: live page at {server.url}")
        if args.open:
            import webbrowser

            webbrowser.open(server.url)
    if args.json:
        from tells.live.console import JsonLines

        sinks.append(JsonLines())
    elif args.no_view and not args.quiet:
        from tells.live.console import TerminalTable

        sinks.append(TerminalTable())
    if recorder is not None:
        sinks.append(recorder)
    session = LiveSession(capture, settings,
                          delay_s=DEFAULT_DELAY_S if args.delay is None else args.delay,
                          duration_s=args.duration, sinks=sinks)
    previous = {s: signal.signal(s, lambda *_: session.stop("interrupted"))
                for s in (signal.SIGINT, signal.SIGTERM)}
    say(f"tells live: analysing {capture.description} — Ctrl-C ends"
        + (f"; recording to {args.output}" if recorder else "; nothing is stored"))
    try:
        result = session.run()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if server is not None:
            server.close()
    live = result.run["live"]
    say(f"tells live: {result.run['frames']} frames analysed, {live['dropped_frames']} dropped "
        f"of {live['captured_frames']} captured, {len(result.events)} events, frame-to-row "
        f"p95 {live['frame_to_row_ms']['p95']} ms; ended: {live['ended_by']}"
        + (f"; wrote {args.output}" if recorder else ""))
    if capture.error:
        print(f"tells: error: {capture.error}", file=sys.stderr)
        return 1
    if result.run["frames"] == 0:
        print(f"tells: error: {capture.description}: no frame was captured", file=sys.stderr)
        return 1
    return 0
