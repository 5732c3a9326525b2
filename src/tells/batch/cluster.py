"""Where batch tasks run: a local process pool, or an existing Dask distributed cluster.

Both are Dask: the local pool is a :class:`distributed.LocalCluster` of single-threaded worker
processes on 127.0.0.1 (mediapipe graphs are single-threaded, so one video per process),
started with the ``spawn`` method (fork after mediapipe has threads is unsafe) and watched by
nannies that restart a killed process. Dask's scheduler retries a task whose worker died
(``distributed.scheduler.allowed-failures``) and one that raised (``retries`` on submit); tells
adds no scheduler of its own.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tells.errors import TellsError

if TYPE_CHECKING:
    from distributed import Client

#: seconds to wait for a remote scheduler to answer, and for it to have a worker
CONNECT_TIMEOUT_S = 10
WORKER_WAIT_S = 60


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class Pool:
    """A connected Dask client and what it stands for."""

    client: Client
    local: bool
    address: str
    workers: int


def _probe() -> str:
    import tells

    return tells.__version__


def _check_workers(client: Client) -> None:
    """Every worker must import the same tells version as the client."""
    from tells import __version__

    try:
        versions = client.run(_probe, on_error="return")
    except Exception as exc:  # any failure here means the workers cannot run tasks
        raise TellsError(f"cannot run tells on the Dask workers ({exc})") from None
    for worker, v in versions.items():
        if isinstance(v, BaseException):
            raise TellsError(f"Dask worker {worker} cannot import tells ({type(v).__name__}: {v});"
                             " install tells on every worker")
        if v != __version__:
            raise TellsError(f"Dask worker {worker} has tells {v}, this client {__version__};"
                             " install the same version everywhere")


@contextmanager
def local_pool(workers: int, retries: int) -> Iterator[Pool]:
    """Start ``workers`` single-threaded worker processes on 127.0.0.1 (no dashboard).

    Parameters
    ----------
    workers : number of processes.
    retries : times a task whose worker process died is run again elsewhere.
    """
    import dask
    from distributed import Client, LocalCluster, WorkerPlugin

    class IgnoreInterrupts(WorkerPlugin):
        """Ctrl-C in a terminal signals the whole process group; the client shuts the pool
        down itself, so worker processes (restarted ones too) ignore SIGINT rather than each
        printing a traceback."""

        name = "tells-ignore-sigint"

        def setup(self, worker) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn",
                          "distributed.scheduler.allowed-failures": retries}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.CRITICAL)
    try:
        with Client(cluster) as client:
            client.register_plugin(IgnoreInterrupts())
            yield Pool(client, True, cluster.scheduler_address, workers)
    finally:
        cluster.close()


@contextmanager
def remote_pool(address: str) -> Iterator[Pool]:
    """Connect to a running Dask scheduler (``tcp://host:port``) that has tells workers.

    Raises
    ------
    TellsError
        The scheduler does not answer, has no worker within a minute, or a worker cannot run
        tells.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise TellsError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            raise TellsError(f"the Dask scheduler at {address} has no workers "
                             f"(waited {WORKER_WAIT_S} s); start one with "
                             f"'dask worker {address} --nthreads 1'") from None
        _check_workers(client)
        workers = sum(client.nthreads().values())
        yield Pool(client, False, address, workers)
    finally:
        client.close()


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None,
            retries: int = 2) -> Iterator[Pool]:
    """The remote cluster at ``scheduler`` if given, else a local pool of ``workers``
    processes (default: one per core)."""
    if scheduler:
        with remote_pool(scheduler) as pool:
            yield pool
    else:
        with local_pool(max(1, workers or default_workers()), retries) as pool:
            yield pool
