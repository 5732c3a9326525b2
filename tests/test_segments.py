"""Agenda segments CSV: seconds or clock times, optional header, BOM/CRLF, clear errors."""

from __future__ import annotations

import pytest

from tells.errors import InputError
from tells.insights.segments import parse_time, read_segments, segment_of


def _write(tmp_path, text, name="agenda.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


@pytest.mark.parametrize(
    "text, seconds",
    [("75.5", 75.5), ("90", 90.0), ("1:15", 75.0), ("01:15", 75.0), ("00:01:15.5", 75.5),
     ("1:02:03", 3723.0), ("2:00:00,25", 7200.25)],
)
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:75", "-3", "1:2:3:4", "nan"])
def test_parse_time_rejects(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_header_clock_times_bom_crlf_quoted_label(tmp_path):
    p = _write(tmp_path, '\ufeffstart,end,label\r\n0:00,2:30,intro\r\n00:02:30,01:05:00,"demo, part 1"\r\n'
                         "3900,4000.5,pricing\r\n")
    segs = read_segments(p)
    assert [s.label for s in segs] == ["intro", "demo, part 1", "pricing"]
    assert segs[1].start == pytest.approx(150.0) and segs[1].end == pytest.approx(3900.0)
    assert segs[2].end == pytest.approx(4000.5)


def test_no_header_reordered_header_and_extra_columns(tmp_path):
    segs = read_segments(_write(tmp_path, "10,20,a\n0,10,b\n"))
    assert [s.label for s in segs] == ["b", "a"]  # sorted by start
    segs = read_segments(_write(tmp_path, "Label,Start,End,owner\nprice,1:00,2:00,Ann\n", "r.csv"))
    assert (segs[0].label, segs[0].start, segs[0].end) == ("price", 60.0, 120.0)


def test_segment_of_uses_half_open_spans(tmp_path):
    segs = read_segments(_write(tmp_path, "start,end,label\n0,10,a\n10,20,b\n"))
    assert segment_of(segs, 10.0).label == "b"
    assert segment_of(segs, 9.99).label == "a"
    assert segment_of(segs, 25) is None


@pytest.mark.parametrize(
    "text, needle",
    [
        ("start,end,label\n0,10,a\n5,xx,b\n", "line 3"),
        ("start,end,label\n0,10,a\n\n20,10,b\n", "line 4"),
        ("start,end,label\n0,10,\n", "line 2"),
        ("start,end,label\n0,10\n", "line 2"),
        ("begin,finish,name\n0,10,a\n", "line 1"),
        ("start,end,label\n", "no segments"),
        ("", "no segments"),
    ],
)
def test_bad_segments_raise_one_line_input_error(tmp_path, text, needle):
    with pytest.raises(InputError) as info:
        read_segments(_write(tmp_path, text))
    assert needle in str(info.value) and "agenda.csv" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_segments(tmp_path / "none.csv")
