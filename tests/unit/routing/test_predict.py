"""The pure wait prediction: position, ready and busy agents, average handle time."""

import pytest

from ivr.routing.predict import Staffing, position_in_queue, predict_wait


def test_a_caller_with_a_ready_agent_waits_for_nobody() -> None:
    prediction = predict_wait(2, Staffing(ready=2, busy=1), 180)
    assert prediction.seconds == 0.0
    assert not prediction.exceeds(20)


def test_a_caller_waits_for_agents_to_finish_calls_shared_by_those_on_duty() -> None:
    # position 4, one ready: three calls must end; three agents free one every 60 s
    prediction = predict_wait(4, Staffing(ready=1, busy=2), 180)
    assert prediction.seconds == pytest.approx(180.0)
    assert prediction.exceeds(20) and not prediction.exceeds(180)
    assert prediction.minutes() == 3


def test_one_busy_agent_makes_the_first_caller_wait_one_handle_time() -> None:
    prediction = predict_wait(1, Staffing(ready=0, busy=1), 95)
    assert prediction.seconds == 95
    assert prediction.minutes() == 2  # told rounded up
    assert predict_wait(1, Staffing(0, 4), 30).minutes() == 1  # at least a minute


def test_nobody_on_duty_is_no_prediction_and_always_exceeds_the_target() -> None:
    prediction = predict_wait(1, Staffing(ready=0, busy=0), 180)
    assert prediction.seconds is None
    assert prediction.exceeds(10_000)


@pytest.mark.parametrize(
    ("position", "staffing", "handle_time"),
    [(0, Staffing(1, 0), 180), (1, Staffing(1, 0), 0), (1, Staffing(-1, 2), 180)],
)
def test_impossible_inputs_are_refused(
    position: int, staffing: Staffing, handle_time: float
) -> None:
    with pytest.raises(ValueError):
        predict_wait(position, staffing, handle_time)


def test_position_follows_app_queue_order_priority_then_arrival() -> None:
    others = [(5, 10.0), (10, 20.0), (5, 1.0), (0, 0.0)]
    assert position_in_queue(5, 5.0, others) == 3  # the vip and the earlier 5 are ahead
    assert position_in_queue(10, 30.0, others) == 2
    assert position_in_queue(0, 1.0, []) == 1
