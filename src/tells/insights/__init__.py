"""Conversation insights: what was said and which agenda item ran when a face leaked an emotion.

Owns transcript parsing (:mod:`tells.insights.transcript`), agenda segments
(:mod:`tells.insights.segments`), loading a saved analysis (:mod:`tells.insights.tables`) and
the summary written to ``summary.json`` (:mod:`tells.insights.summary`). May import ``tells.io``,
``face``, ``facs``, ``emotion`` and ``spotting``; never ``tells.cli`` or ``tells.batch``.
"""

from __future__ import annotations

from tells.insights.segments import Segment, parse_time, read_segments
from tells.insights.summary import SUMMARY_SCHEMA, summarize
from tells.insights.tables import Analysis, load_analysis
from tells.insights.transcript import Cue, read_transcript

__all__ = [
    "Analysis",
    "Cue",
    "SUMMARY_SCHEMA",
    "Segment",
    "load_analysis",
    "parse_time",
    "read_segments",
    "read_transcript",
    "summarize",
]
