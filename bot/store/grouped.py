"""Writes from many threads, committed together: one transaction for all that are waiting.

Each worker thread used to finish its row in a transaction of its own, so a
burst of answers became a queue of tiny transactions, each taking SQLite's
write lock (and each making an acknowledgement wait). :class:`GroupedWrites`
lets each thread write as if alone: the first one to arrive writes everything
queued meanwhile in one call, and every thread returns once its own item is
committed (or raises the error that call raised), so nothing is reported
done before it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class _Slot(Generic[T]):
    __slots__ = ("done", "error", "item")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None


class GroupedWrites(Generic[T]):
    """Calls ``write(items)`` with every item queued while the previous call ran."""

    def __init__(self, write: Callable[[Sequence[T]], None], *, most: int = 256) -> None:
        self._write = write
        self._most = most
        self._changed = threading.Condition()
        self._queue: list[_Slot[T]] = []
        self._writing = False

    def write(self, item: T) -> None:
        """Write ``item`` (with whatever else is waiting); raises what the write raised."""
        slot = _Slot(item)
        with self._changed:
            self._queue.append(slot)
            while not slot.done and self._writing:
                self._changed.wait()
            if slot.done:
                if slot.error is not None:
                    raise slot.error
                return
            self._writing = True  # this thread writes for everyone waiting
        while True:
            with self._changed:
                group, self._queue = self._queue[:self._most], self._queue[self._most:]
                if not group:
                    self._writing = False
                    self._changed.notify_all()
                    break
            error: BaseException | None = None
            try:
                self._write([s.item for s in group])
            except BaseException as raised:  # each writer in the group gets it
                error = raised
            with self._changed:
                for s in group:
                    s.error, s.done = error, True
                self._changed.notify_all()
            if slot.done:
                with self._changed:
                    # hand the pen to a waiter, if any: this thread has its own work to get back to
                    self._writing = False
                    self._changed.notify_all()
                break
        if slot.error is not None:
            raise slot.error
