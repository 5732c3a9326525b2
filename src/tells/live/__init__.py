"""Live analysis: capture sources (camera, screen or window, stream, a file played at its own
pace) with a bounded queue that drops frames at the source when analysis falls behind, online
(causal) spotting over the rows as they come, the live page and alerts, and the recording of a
session in the files ``tells analyze`` writes.

May import every layer above it (``io``, ``face``, ``facs``, ``emotion``, ``spotting``,
``pipeline``, ``api``, ``report``); nothing but ``cli`` imports it.
"""
