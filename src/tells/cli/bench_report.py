"""Benchmark of the HTML report at the scale of a long call: build a SYNTHETIC analysis of a
2-hour recording (per-frame table at 30 fps with plausible AU/emotion series, a few hundred
events) over a 2-hour video made by looping the real sample video (stream copy, no
re-encoding), write the report, and time how long headless Chromium takes to load it and make
it interactive.

Run ``tells bench report [--hours 2] [--events 400] [--faces 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["bench_report", "loop_video", "measure_in_browser"]


def loop_video(src: str | Path, dst: str | Path, duration_s: float) -> Path:
    """Write ``dst``: ``src``'s video stream repeated (stream copy) until ``duration_s``."""
    import av

    dst = Path(dst)
    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        period = 0
        for p in inp.demux(ist):
            if p.pts is not None:
                period = max(period, p.pts + (p.duration or 0))
        tb = float(ist.time_base)
        loops = int(duration_s / (period * tb)) + 1
        tmp = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
        with av.open(str(tmp), "w") as out:
            try:
                ost = out.add_stream_from_template(ist)
            except AttributeError:  # PyAV < 14
                ost = out.add_stream(template=ist)
            for k in range(loops):
                inp.seek(0, stream=ist)
                for p in inp.demux(ist):
                    if p.pts is None or p.dts is None:
                        continue
                    p.pts += k * period
                    p.dts += k * period
                    p.stream = ost
                    out.mux(p)
    tmp.replace(dst)
    return dst


def measure_in_browser(report: Path, runs: int = 3) -> dict:
    """Open ``report`` from disk in headless Chromium ``runs`` times; return the median
    milliseconds from navigation start to DOMContentLoaded, to the first paint after the page
    drew everything and attached its handlers (``interactive_ms``), and for a filter change to
    re-render the cards."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise RuntimeError("Debian's chromium is needed (bash install.sh)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    dcl, ready, filt, errors = [], [], [], []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=args,
            viewport={"width": 1280, "height": 900})
        try:
            for _ in range(runs):
                page = ctx.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(report.resolve().as_uri(), timeout=60000)
                page.wait_for_selector("body[data-painted='1']", timeout=60000)
                ready.append(page.evaluate("window.tellsPaintedMs"))
                dcl.append(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
                filt.append(page.evaluate("""() => {
                    const s = document.querySelector('#kind-filter');
                    if (!s) return null;
                    const t0 = performance.now();
                    s.value = 'micro'; s.dispatchEvent(new Event('change'));
                    document.querySelector('#cards').getBoundingClientRect();
                    return performance.now() - t0; }"""))
                page.close()
        finally:
            ctx.close()

    def med(xs):
        xs = sorted(x for x in xs if x is not None)
        return round(xs[len(xs) // 2], 1) if xs else None

    return {"dom_content_loaded_ms": med(dcl), "interactive_ms": med(ready),
            "filter_ms": med(filt), "runs": runs, "page_errors": errors}


def bench_report(work_dir: str | Path | None = None, hours: float = 2.0, fps: float = 30.0,
                 faces: int = 2, events: int = 400, seed: int = 0, runs: int = 3) -> dict:
    """Build the synthetic long analysis in ``work_dir`` (a temporary directory by default),
    write its report and measure it. Returns the figures as a dict."""
    from tells.insights.synthetic import write_synthetic_analysis
    from tells.io.samples import sample_path
    from tells.report import write_report

    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tells-bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    duration = hours * 3600
    video = work / f"looped_{hours:g}h.mp4"
    t0 = time.perf_counter()
    if not video.exists():
        loop_video(sample_path("WolfgangLanger_Pexels.mp4"), video, duration)
    t_video = time.perf_counter() - t0
    out = work / "analysis"
    t0 = time.perf_counter()
    write_synthetic_analysis(out, video=video, duration_s=duration, fps=fps, faces=faces,
                             n_events=events, seed=seed, csv=False)
    t_tables = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = write_report(out)
    t_report = time.perf_counter() - t0
    import pandas as pd

    rows = len(pd.read_parquet(out / "frames.parquet", columns=["frame"]))
    result = {
        "synthetic": True,
        "hours": hours, "fps": fps, "faces": faces, "events": events, "frame_rows": rows,
        "video": str(video),
        "report": str(report),
        "report_bytes": report.stat().st_size,
        "report_mb": round(report.stat().st_size / 1e6, 2),
        "seconds_make_video": round(t_video, 1),
        "seconds_make_tables": round(t_tables, 1),
        "seconds_write_report": round(t_report, 1),
    }
    result.update(measure_in_browser(report, runs=runs))
    return result


def configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``tells bench report``."""
    p.description = __doc__
    p.add_argument("--hours", type=float, default=2.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--faces", type=int, default=2)
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--work-dir", type=Path, default=None,
                   help="keep the looped video and analysis here (reused on the next run)")
    p.add_argument("--open", type=Path, default=None, metavar="REPORT_HTML",
                   help="time this existing report (e.g. OUT/report.html of tells analyze) "
                        "instead of building the synthetic one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_handler)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tells.cli.bench_report")
    configure(p)
    args = p.parse_args(argv)
    return _handler(args)


def _handler(args) -> int:
    if args.open is not None:
        return _time_existing(args.open, args.runs, args.json)
    r = bench_report(args.work_dir, args.hours, args.fps, args.faces, args.events, runs=args.runs)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"synthetic {r['hours']:g} h analysis: {r['frame_rows']:,} frame rows "
              f"({r['faces']} faces, {r['fps']:g} fps), {r['events']} events")
        print(f"report.html {r['report_mb']} MB, written in {r['seconds_write_report']} s")
        print(f"headless Chromium (median of {r['runs']}): DOMContentLoaded "
              f"{r['dom_content_loaded_ms']} ms, interactive {r['interactive_ms']} ms, "
              f"filter change {r['filter_ms']} ms")
        print(f"report: {r['report']}")
    return 0 if not r["page_errors"] else 1


def _time_existing(report: Path, runs: int, as_json: bool) -> int:
    if not report.is_file():
        print(f"tells bench report: {report}: no such file", file=sys.stderr)
        return 2
    r = {"report": str(report), "report_mb": round(report.stat().st_size / 1e6, 3),
         **measure_in_browser(report, runs=runs)}
    if as_json:
        print(json.dumps(r, indent=2))
    else:
        print(f"{report}: {r['report_mb']} MB")
        print(f"headless Chromium (median of {r['runs']}): DOMContentLoaded "
              f"{r['dom_content_loaded_ms']} ms, interactive {r['interactive_ms']} ms, "
              f"filter change {r['filter_ms']} ms")
    return 0 if not r["page_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
