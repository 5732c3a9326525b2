"""``tells render``: SYNTHETIC tables drawn over the REAL sample video."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest

from tells.cli.main import main
from tells.errors import InputError, OutputError
from tells.insights.synthetic import write_synthetic_analysis
from tells.io.samples import sample_path
from tells.report.render import render_video


def _frames(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    video = sample_path("WolfgangLanger_Pexels.mp4")
    write_synthetic_analysis(d, video=video, duration_s=19.68, fps=23.976, n_events=6, seed=5,
                             csv=False)
    out = d / "overlay.mp4"
    assert main(["render", str(d), "-o", str(out), "--quiet"]) == 0
    return d, out, _frames(video), _frames(out)


def test_render_keeps_every_frame_and_its_time(rendered):
    d, out, src, dst = rendered
    assert len(dst) == len(src)
    assert dst[0][1].shape == src[0][1].shape
    assert abs(dst[-1][0] - src[-1][0]) < 0.05
    assert not list(d.glob(".*partial*"))


def test_render_draws_box_and_event_flash(rendered):
    d, out, src, dst = rendered
    frames = pd.read_parquet(d / "frames.parquet")
    events = pd.read_csv(d / "events.csv")
    # the face box outline: the left edge of frame 100's box changed, the far corner did not
    row = frames[(frames["frame"] == 100) & (frames["face_id"] == 0)].iloc[0]
    x, y, h = int(round(row["x"])), int(round(row["y"])), int(row["height"])
    edge = slice(y + 10, y + h - 10)
    diff = np.abs(dst[100][1][edge, x - 1:x + 2].astype(int) - src[100][1][edge, x - 1:x + 2]).mean()
    assert diff > 25
    # flash: the frame border is coloured at an event's apex and not where no event runs
    def border(i):
        a, b = dst[i][1].astype(int), src[i][1].astype(int)
        return np.abs(a[:4, 40:-40] - b[:4, 40:-40]).mean()

    ev = events.iloc[0]
    during = int(ev["apex_frame"])
    busy = np.zeros(len(dst), bool)
    for e in events.itertuples():
        busy[max(0, e.onset_frame - 2): e.offset_frame + 15] = True
    quiet = int(np.nonzero(~busy)[0][len(np.nonzero(~busy)[0]) // 2])
    assert border(during) > 40
    assert border(quiet) < 15


def test_render_errors(tmp_path):
    d = tmp_path / "a"
    write_synthetic_analysis(d, video=tmp_path / "gone.mp4", duration_s=2, fps=10, n_events=1,
                             csv=False)
    with pytest.raises(InputError, match="not found"):
        render_video(d, tmp_path / "o.mp4")
    write_synthetic_analysis(d, video=sample_path("WolfgangLanger_Pexels.mp4"), duration_s=2,
                             fps=10, n_events=1, csv=False)
    with pytest.raises(OutputError, match=".mp4"):
        render_video(d, tmp_path / "o.gif")
    with pytest.raises(OutputError, match="no such directory"):
        render_video(d, tmp_path / "missing" / "o.mp4")


def test_cli_report_one_line_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tells: error:") and "\n" not in err and "tells analyze" in err
