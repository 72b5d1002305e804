"""The predicted wait of a queued caller, from the live state: his position, the agents of
the queue who are ready or busy on a call, and the queue's average handle time.

Pure: no I/O and no clock. The caller at `position` (1 = next) is answered at once when as
many agents are ready; otherwise he waits for `position - ready` agents to finish a call.
Every agent on duty (ready or busy) finishes a call every `handle_time` seconds on
average, so together they free one every `handle_time / on_duty` seconds:

    predicted = (position - ready) * handle_time / on_duty

With nobody on duty (everyone logged out, paused or unreachable) there is no prediction:
the caller waits until someone comes back, which no figure here can tell.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Staffing:
    """The agents of one queue now, as the agent board sees them."""

    ready: int  # logged in, not paused, phone idle
    busy: int  # in a call or ringing

    @property
    def on_duty(self) -> int:
        return self.ready + self.busy


@dataclass(frozen=True)
class Prediction:
    position: int
    staffing: Staffing
    handle_time: float  # seconds: the queue's average handle time used
    seconds: float | None  # None: nobody on duty, no prediction

    def exceeds(self, target: float) -> bool:
        """The caller will (as far as one can tell) wait past `target` seconds: predicted
        longer, or nobody is on duty to answer him."""
        return self.seconds is None or self.seconds > target

    def minutes(self) -> int:
        """The wait as a caller is told it: whole minutes, rounded up, at least one."""
        return max(1, math.ceil((self.seconds or 0.0) / 60))


def predict_wait(position: int, staffing: Staffing, handle_time: float) -> Prediction:
    """The predicted wait of the caller at `position` (1-based) in a queue with `staffing`,
    whose calls last `handle_time` seconds on average (talk and wrap-up)."""
    if position < 1:
        raise ValueError(f"a queue position starts at 1, got {position}")
    if handle_time <= 0:
        raise ValueError(f"a handle time is > 0 seconds, got {handle_time}")
    if staffing.ready < 0 or staffing.busy < 0:
        raise ValueError(f"agent counts are >= 0, got {staffing}")
    if staffing.on_duty == 0:
        return Prediction(position, staffing, handle_time, None)
    waiting_for = max(0, position - staffing.ready)
    seconds = waiting_for * handle_time / staffing.on_duty
    return Prediction(position, staffing, handle_time, seconds)


def position_in_queue(priority: int, joined: float, others: list[tuple[int, float]]) -> int:
    """A waiting caller's place as app_queue orders its callers: higher priority first,
    first come first within a priority. `others`: (priority, joined) of the other callers
    waiting in the same queue."""
    ahead = sum(1 for p, j in others if p > priority or (p == priority and j < joined))
    return ahead + 1
