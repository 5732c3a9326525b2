"""The HTML report and the rendered overlay video: files a person reads after a call.

Owns ``report.html`` (one self-contained offline page: hand-written inline SVG/canvas
JavaScript shipped in ``tells/report/assets``, pictures as ``data:`` URIs), ``summary.json``
(computed by :mod:`tells.insights.summary`) and ``tells render`` (:mod:`tells.report.render`).
May import ``tells.io``, ``face``, ``facs``, ``emotion``, ``spotting`` and ``insights``; never
``tells.cli`` or ``tells.batch``.
"""

from __future__ import annotations

from tells.report.build import write_report

__all__ = ["write_report"]
