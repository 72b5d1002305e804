"""The engine's position and predicted-wait announcements to waiting callers (a queue's
`announce: {by: engine}`): prompts of flows/prompts.yaml in the caller's language,
whispered to him alone. Said when he joins (with the early callback offer, if one is made:
see ivr.monitors.waiting) and again every `every` seconds while he waits, with his place
and prediction as they are then.

The prompts say the number after a colon ("your place in the queue: 3"), so the words
around it never have to agree with it (Ukrainian and Russian change the noun's form with
the number). A caller whose prediction is 0 (an agent is free for him) is told nothing.
"""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol

from ivr.clock import Clock, Timer
from ivr.monitors.predict import WaitPredictor
from ivr.queues.model import QueuesConfig, QueueSpec
from ivr.routing.predict import Prediction, position_in_queue
from ivr.tasks import TaskSet

log = logging.getLogger(__name__)

POSITION_PROMPT = "queue_position"  # {position}
WAIT_PROMPT = "queue_wait"  # {minutes}
SOUNDS_APART = "&"  # Playback plays a&b one after the other


PromptSound = Callable[[str, str, Mapping[str, str]], Awaitable[str | None]]
Whisper = Callable[[str, str], Awaitable[None]]


class Listener(Protocol):
    """A waiting caller as the announcer reads him (ivr.monitors.waiting.Waiter)."""

    call_id: str
    channel: str
    queue: str
    priority: int
    language: str
    joined: float
    in_queue: bool


def one_after_another(*sounds: str | None) -> str | None:
    """Sounds to play in turn, as one Playback argument (None: nothing to play)."""
    played = [s for s in sounds if s]
    return SOUNDS_APART.join(played) or None


class WaitAnnouncer:
    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        predictor: WaitPredictor,
        prompt_sound: PromptSound,
        whisper: Whisper,
        tasks: TaskSet,
        clock: Clock,
        listener: Callable[[str], Listener | None],
        listeners: Callable[[], Iterable[Listener]],
        acting: Callable[[], bool],
    ) -> None:
        self._queues = queues
        self._predictor = predictor
        self._prompt_sound = prompt_sound
        self._whisper = whisper
        self._tasks = tasks
        self._clock = clock
        self._listener = listener
        self._listeners = listeners
        self._acting = acting
        self._repeats: dict[str, Timer] = {}  # the next announcement's, per call

    async def sound(self, queue: QueueSpec, prediction: Prediction, language: str) -> str | None:
        """What to tell a caller with `prediction` (None: nothing)."""
        said = queue.announce
        if said.by != "engine" or not said.on or prediction.seconds == 0:
            return None
        position = str(prediction.position)
        where = await self._prompt_sound(POSITION_PROMPT, language, {"position": position})
        wait = None
        if said.wait and prediction.seconds is not None:
            minutes = str(prediction.minutes())
            wait = await self._prompt_sound(WAIT_PROMPT, language, {"minutes": minutes})
        return one_after_another(where if said.position else None, wait)

    # --- said again while he waits ----------------------------------------------------

    def repeat(self, call_id: str, queue: QueueSpec) -> None:
        """Tell the caller again every `announce.every` seconds (0: never again)."""
        every = queue.announce.every
        if queue.announce.by != "engine" or not queue.announce.on or every <= 0:
            return
        self.stop(call_id)
        timer = self._clock.call_at(self._clock.now() + every, self._fire, call_id, every)
        self._repeats[call_id] = timer

    def stop(self, call_id: str) -> None:
        timer = self._repeats.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        for call_id in list(self._repeats):
            self.stop(call_id)

    def _fire(self, call_id: str, every: float) -> None:
        self._repeats.pop(call_id, None)
        listener = self._listener(call_id)
        queue = self._queues().queues.get(listener.queue) if listener else None
        if listener is None or queue is None:
            return  # gone (or his queue was removed): nothing more to say
        if listener.in_queue and self._acting():  # between queues or standing by: later
            self._tasks.spawn(self._announce(listener, queue), name=f"announce-{call_id}")
        self.repeat(call_id, queue)

    def position(self, listener: Listener) -> int:
        others = [
            (other.priority, other.joined)
            for other in self._listeners()
            if other.queue == listener.queue and other.in_queue and other is not listener
        ]
        return position_in_queue(listener.priority, listener.joined, others)

    async def _announce(self, listener: Listener, queue: QueueSpec) -> None:
        prediction = self._predictor.predict(queue, self.position(listener))
        try:
            sound = await self.sound(queue, prediction, listener.language)
            if sound is not None:
                await self._whisper(listener.channel, sound)
        except Exception as exc:  # AMI down, the channel gone: the next one may be heard
            log.warning("position not announced to %s: %s", listener.call_id, exc)
