"""Work done in a second thread while the question is encoded."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from retrieval.answer import meanwhile as meanwhile_module
from retrieval.answer.meanwhile import meanwhile


def _slow(done: list[str]) -> str:
    time.sleep(0.2)
    done.append(threading.current_thread().name)
    return "found"


def test_the_work_runs_in_another_thread_and_gives_its_result() -> None:
    done: list[str] = []
    with meanwhile(_slow, done) as future:
        assert future.result() == "found"
    assert done and done[0] != threading.current_thread().name


def test_leaving_by_an_exception_waits_for_work_already_started() -> None:
    """What the work reads (a reader closed right after the block) stays open until it ends."""
    done: list[str] = []
    started = threading.Event()

    def work() -> str:
        started.set()
        return _slow(done)

    with pytest.raises(RuntimeError, match="encoder broke"), meanwhile(work):
        assert started.wait(5)
        raise RuntimeError("encoder broke")
    assert len(done) == 1  # finished before the block was left


def test_the_work_s_own_error_reaches_the_caller() -> None:
    def broken() -> None:
        raise ValueError("the row files are damaged")

    with pytest.raises(ValueError, match="damaged"), meanwhile(broken) as future:
        future.result()


def _in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with meanwhile(lambda: "from the child") as future:
        queue.put(future.result(timeout=10))


def test_a_forked_child_gets_threads_of_its_own() -> None:
    """A child forked after the parent's pool started (a Ray worker, a test runner) would wait
    forever on the parent's threads, which it does not have."""
    with meanwhile(lambda: None) as future:
        future.result()
    assert meanwhile_module._pool is not None
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == "from the child"
