"""Computing the next item's result in a worker thread while the caller uses this one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def run_ahead(
    items: Iterable[Item], compute: Callable[[Item], Result]
) -> Iterator[tuple[Item, Result]]:
    """Yield (item, compute(item)) in order, with the next item's compute already running.

    One worker thread, one result ahead: the caller's work on one result (blending, writing)
    overlaps the next compute (a network run, which releases the GIL). compute's errors are
    raised here, in the caller's thread, at the item that raised them. When the caller stops
    early (an error, a break), the compute in flight is waited for and its result dropped, so
    nothing keeps running after this generator is closed.
    """
    pending = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pocketsr-tile") as worker:
        upcoming: Future[Result] | None = None
        try:
            current = next(pending, _END)
            if current is _END:
                return
            upcoming = worker.submit(compute, current)
            while True:
                result = upcoming.result()
                following = next(pending, _END)
                upcoming = None if following is _END else worker.submit(compute, following)
                yield current, result
                if following is _END:
                    return
                current = following
        finally:
            # A compute not yet started is dropped; one already running cannot be stopped,
            # so leaving the executor's block waits for it (its result or error is dropped).
            if upcoming is not None:
                upcoming.cancel()


_END = object()
