"""The generic batch writer (no database): batching, quiet period, max delay, retries."""

import asyncio
from collections.abc import Sequence

from ivr.storage.batch import BatchWriter, Tuning
from ivr.tasks import TaskSet


class Recorder:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[tuple[int, ...]] = []
        self.failures = failures
        self.attempts = 0

    def __call__(self, batch: Sequence[int]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("down")
        self.batches.append(tuple(batch))


async def test_a_burst_becomes_one_batch_after_the_quiet_period() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=0.05, max_delay=5))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    await asyncio.sleep(0)  # the writer now waits for work
    for n in range(10):
        writer.put(n)
        await asyncio.sleep(0.005)  # events keep coming: the writer waits
    assert write.batches == []
    await asyncio.sleep(0.2)
    assert write.batches == [tuple(range(10))]
    await writer.stop()
    await tasks.cancel_all()


async def test_max_delay_bounds_the_wait_in_an_endless_stream() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=0.05, max_delay=0.1))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(40):  # a steady stream, never quiet for 50 ms, for about 0.4 s
        writer.put(n)
        await asyncio.sleep(0.01)
    assert len(write.batches) >= 2
    await writer.stop()
    assert [n for batch in write.batches for n in batch] == list(range(40))
    await tasks.cancel_all()


async def test_batches_are_bounded_and_retried_in_order() -> None:
    write = Recorder(failures=2)
    writer = BatchWriter("test", write, Tuning(batch_size=4, quiet=10, retry_initial=0.01))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(10):
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 2)
    assert write.batches == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9)]
    assert write.attempts == 5 and writer.pending == 0
    await writer.stop()
    await tasks.cancel_all()


async def test_flush_does_not_wait_for_the_quiet_period() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=10, max_delay=30))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(3):
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 1)
    assert write.batches == [(0, 1, 2)]
    await asyncio.wait_for(writer.stop(), 1)
    await tasks.cancel_all()
