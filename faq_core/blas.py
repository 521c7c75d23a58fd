"""Keep a few questions' ranking off the BLAS thread pool.

Ranking one question is a matrix-vector product, bound by memory bandwidth:
one thread does it about as fast as two. But when OpenBLAS runs it on its pool,
the worker threads keep spinning after it returns and take the cores the next
question's embedding needs (measured on 2 cores: embed+rank per question
16 -> 9 ms at 10k phrasings). :func:`few_queries` runs such products on the
calling thread; large batches still get every core. The limit is also
size-aware: above ``SINGLE_THREAD_MAX_ROWS`` phrasings the product is long
enough that the pool's second core pays for its wake-up, so the pool is kept
(measured by ``bench/embedding.py``'s embed+rank table; see docs/benchmarks.md).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

# Batches up to this many questions rank on one BLAS thread.
SINGLE_THREAD_QUERIES = 8
# ... against indexes up to this many phrasings (larger ones keep the pool).
SINGLE_THREAD_MAX_ROWS = 50_000

_controller: Any = None
_lock = threading.Lock()


def _blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, made once (it scans
    the process's shared libraries); ``False`` without threadpoolctl."""
    global _controller
    with _lock:
        if _controller is None:
            try:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController().select(user_api="blas")
            except ImportError:
                _controller = False
        return _controller


def few_queries(n_queries: int, n_rows: int = 0) -> AbstractContextManager[Any]:
    """A context in which ranking ``n_queries`` questions against ``n_rows``
    phrasings uses one BLAS thread when both are small enough (a no-op for
    large batches, large indexes or without threadpoolctl)."""
    if n_queries > SINGLE_THREAD_QUERIES or n_rows > SINGLE_THREAD_MAX_ROWS:
        return nullcontext()
    controller = _blas_controller()
    if not controller:
        return nullcontext()
    limiter: AbstractContextManager[Any] = controller.limit(limits=1)
    return limiter
