"""Transcript parsing on files shaped like real video-call exports (Teams/Zoom WebVTT, SRT)."""

from __future__ import annotations

import pytest

from tells.errors import InputError
from tells.insights.transcript import cues_around, read_transcript, speaker_at

# Teams-style: BOM, CRLF, cue identifiers, <v> voice tags, hours, a multi-line cue, a NOTE.
TEAMS_VTT = (
    "\ufeffWEBVTT\r\n"
    "\r\n"
    "NOTE exported by the meeting tool\r\n"
    "\r\n"
    "3f1c2a9e-1d2b-4c5e-9f00-0a1b2c3d4e5f/11-0\r\n"
    "00:00:01.250 --> 00:00:04.000\r\n"
    "<v Jane Doe>Thanks for joining, everyone.</v>\r\n"
    "\r\n"
    "3f1c2a9e-1d2b-4c5e-9f00-0a1b2c3d4e5f/12-0\r\n"
    "00:59:58.000 --> 01:00:03.500 align:start position:0%\r\n"
    "<v.loud Raj Patel>So the price per seat\r\n"
    "would be forty dollars &amp; up.</v>\r\n"
    "\r\n"
    "01:02:03.000 --> 01:02:05.000\r\n"
    "<v Jane Doe>Hmm.</v> <v Raj Patel>Any questions?</v>\r\n"
)

# Zoom-style: numbered cues, "Name: text" prefixes, minutes-only timestamps in one cue.
ZOOM_VTT = """WEBVTT

1
00:00:00.500 --> 00:00:03.100
Maria Gonzalez: Can you show me the dashboard?

2
00:03.100 --> 00:06.000
Tom O'Brien: Sure, here it is.
It loads in under a second.

3
00:00:06.000 --> 00:00:08.000
No speaker on this line.
"""

SRT = (
    "\ufeff1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    "Hello there.\r\n"
    "\r\n"
    "2\r\n"
    "01:15:00,000 --> 01:15:04,250\r\n"
    "Alex Kim: Let's talk about pricing.\r\n"
    "It starts at the Team plan.\r\n"
    "\r\n"
    "3\r\n"
    "01:15:05,000 --> 01:15:06,000\r\n"
    "<i>[laughs]</i>\r\n"
)


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_teams_webvtt_voice_tags_hours_multiline_bom_crlf(tmp_path):
    cues = read_transcript(_write(tmp_path, "teams.vtt", TEAMS_VTT))
    assert [c.speaker for c in cues] == ["Jane Doe", "Raj Patel", "Jane Doe", "Raj Patel"]
    assert cues[0].start == pytest.approx(1.25) and cues[0].end == pytest.approx(4.0)
    assert cues[0].text == "Thanks for joining, everyone."
    # hours, cue settings after the time range, two lines joined, entity decoded, tags gone
    assert cues[1].start == pytest.approx(59 * 60 + 58) and cues[1].end == pytest.approx(3603.5)
    assert cues[1].text == "So the price per seat would be forty dollars & up."
    # two voices in one cue become two cues with the same timing
    assert cues[2].text == "Hmm." and cues[3].text == "Any questions?"
    assert cues[2].start == cues[3].start == pytest.approx(3723.0)


def test_zoom_webvtt_name_prefixes(tmp_path):
    cues = read_transcript(_write(tmp_path, "zoom.vtt", ZOOM_VTT))
    assert [c.speaker for c in cues] == ["Maria Gonzalez", "Tom O'Brien", ""]
    assert cues[0].text == "Can you show me the dashboard?"
    assert cues[1].start == pytest.approx(3.1)  # mm:ss.ttt without hours
    assert cues[1].text == "Sure, here it is. It loads in under a second."
    assert cues[2].text == "No speaker on this line."


def test_srt_hours_multiline_speaker_bom_crlf(tmp_path):
    cues = read_transcript(_write(tmp_path, "call.srt", SRT))
    assert len(cues) == 3
    assert cues[0].speaker == "" and cues[0].text == "Hello there."
    assert cues[1].start == pytest.approx(4500.0) and cues[1].end == pytest.approx(4504.25)
    assert cues[1].speaker == "Alex Kim"
    assert cues[1].text == "Let's talk about pricing. It starts at the Team plan."
    assert cues[2].text == "[laughs]"


def test_utf16_srt_with_bom(tmp_path):
    cues = read_transcript(_write(tmp_path, "win.srt", "1\n00:00:01,000 --> 00:00:02,000\nZoë: Hallo\n",
                                  encoding="utf-16"))
    assert cues[0].speaker == "Zoë" and cues[0].text == "Hallo"


def test_srt_content_in_vtt_named_file_is_read_as_srt(tmp_path):
    cues = read_transcript(_write(tmp_path, "misnamed.vtt", SRT))
    assert len(cues) == 3 and cues[1].speaker == "Alex Kim"


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("nohead.vtt", "00:00:01.000 --> 00:00:02.000\nhello\n", "line 1"),
        ("arrow.vtt", "WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nhello\n", "line 3"),
        ("order.vtt", "WEBVTT\n\n1\n00:00:05.000 --> 00:00:02.000\nhello\n", "line 4"),
        ("badtime.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:xx,000 --> 00:00:03,000\nx\n",
         "line 6"),
        ("junk.srt", "this is not a subtitle file\nat all\n", "line 1"),
        ("empty.vtt", "", "empty"),
        ("onlyhead.vtt", "WEBVTT\n\n", "no cues"),
    ],
)
def test_bad_files_raise_one_line_input_error(tmp_path, name, text, needle):
    p = _write(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        read_transcript(p)
    msg = str(info.value)
    assert needle in msg and name in msg
    assert "\n" not in msg


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_transcript(tmp_path / "nope.vtt")
    p = tmp_path / "clip.vtt"
    p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    with pytest.raises(InputError, match="binary"):
        read_transcript(p)


def test_speaker_and_words_around_a_moment(tmp_path):
    cues = read_transcript(_write(tmp_path, "zoom.vtt", ZOOM_VTT))
    assert speaker_at(cues, 4.0) == "Tom O'Brien"
    assert speaker_at(cues, 7.0) == ""  # the cue at 7 s has no speaker, none within 1 s before
    assert speaker_at(cues, 30.0) == ""
    around = cues_around(cues, 4.0, before=2.0, after=0.5)
    assert [c.speaker for c in around] == ["Maria Gonzalez", "Tom O'Brien"]
