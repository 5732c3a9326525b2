"""Many videos at once: ``tells batch`` on all local cores or on a Dask distributed cluster.

Modules: :mod:`~tells.batch.discover` (inputs), :mod:`~tells.batch.hashing` (content
identity), :mod:`~tells.batch.plan` (what to analyse, what to skip),
:mod:`~tells.batch.catalog` (``OUT/catalog.sqlite``), :mod:`~tells.batch.outputs`
(staging and publishing result folders), :mod:`~tells.batch.task` (what a worker runs),
:mod:`~tells.batch.cluster` (local pool or remote scheduler), :mod:`~tells.batch.runner`
(the client loop) and :mod:`~tells.batch.bench` (``tells bench batch``). This layer may import
every layer but ``cli``.
"""

from tells.batch.runner import BatchProgress, BatchSummary, batch_status, run_batch

__all__ = ["BatchProgress", "BatchSummary", "batch_status", "run_batch"]
