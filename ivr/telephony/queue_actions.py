"""The AMI actions the engine takes on app_queue and on live calls (one place, typed).

Every value is encoded by AmiClient (no CR/LF in headers; `Variable` values escaped).
"""

import asyncio
from collections.abc import Mapping, Sequence

from panoramisk.message import Message

from ivr.telephony import names
from ivr.telephony.ami import AmiClient


class QueueActions:
    def __init__(self, ami: AmiClient) -> None:
        self._ami = ami

    # --- membership -------------------------------------------------------------------

    async def add_member(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str = "",
    ) -> None:
        await self._ami.send(
            {
                "Action": "QueueAdd",
                "Queue": queue,
                "Interface": interface,
                "MemberName": member_name,
                "Penalty": str(penalty),
                "Paused": "true" if paused else "false",
                **({"StateInterface": state_interface} if state_interface else {}),
            }
        )

    async def remove_member(self, queue: str, interface: str) -> None:
        await self._ami.send({"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def pause_member(self, interface: str, paused: bool, reason: str = "") -> None:
        """Pause (or unpause) the member in every queue it belongs to."""
        action = {
            "Action": "QueuePause",
            "Interface": interface,
            "Paused": "true" if paused else "false",
        }
        if reason:
            action["Reason"] = reason
        await self._ami.send(action)

    async def status(self) -> list[Message]:
        """QueueParams, QueueMember and QueueEntry events of every queue."""
        reply = await self._ami.send({"Action": "QueueStatus"}, timeout=10)
        return reply if isinstance(reply, list) else [reply]

    async def channels(self, variables: Sequence[str]) -> list[Message]:
        """A Status event per channel, with these channel variables (or functions)."""
        reply = await self._ami.send(
            {"Action": "Status", "Variables": ",".join(variables)}, timeout=10
        )
        return reply if isinstance(reply, list) else [reply]

    async def reload(self) -> None:
        """Re-read queues.conf: parameters of existing queues, new queues; members kept."""
        await self._ami.send({"Action": "QueueReload", "Parameters": "yes", "Members": "no"})

    # --- waiting callers --------------------------------------------------------------

    async def change_priority(self, queue: str, channel: str, priority: int) -> None:
        """Re-order a waiting caller at once (Asterisk 20.5+/21+/22)."""
        await self._ami.send(
            {
                "Action": "QueueChangePriorityCaller",
                "Queue": queue,
                "Caller": channel,
                "Priority": str(priority),
                "Immediate": "yes",
            }
        )

    async def set_variables(self, channel: str, values: Mapping[str, str]) -> None:
        """One Setvar per value, all sent at once: Asterisk runs a session's actions in
        order, so this costs one round trip, not one per value."""
        await asyncio.gather(
            *(
                self._ami.send(
                    {"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value}
                )
                for name, value in values.items()
            )
        )

    async def remember_ladder(
        self, channel: str, ladder: str, done: Sequence[int], priority: int
    ) -> None:
        """Keep on the channel which steps of which queue's ladder ran (read at a resync)
        and the priority they gave (a caller re-queued by a key press keeps it)."""
        await self.set_variables(
            channel,
            {
                names.VAR_LADDER: ladder,
                names.VAR_STEPS_DONE: " ".join(map(str, done)),
                names.VAR_PRIORITY: str(priority),
            },
        )

    async def move_to_queue(self, channel: str, queue: str, priority: int) -> None:
        """Take a waiting caller out of its queue into another (the dialplan's ivr-queue)."""
        await self.set_variables(
            channel, {names.VAR_QUEUE: queue, names.VAR_PRIORITY: str(priority)}
        )
        await self._ami.send(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": names.CONTEXT_QUEUE,
                "Exten": "s",
                "Priority": "1",
            }
        )

    async def whisper(self, channel: str, sound: str) -> None:
        """Play `sound` to one channel only: a Local leg plays it into ChanSpy's whisper
        (q: no spy beep, w: whisper, E: stop with the call, u: `channel` is exact)."""
        await self._ami.originate(
            f"Local/s@{names.CONTEXT_WHISPER}",
            application="ChanSpy",
            data=f"{channel},qwEu",
            variables={names.VAR_WHISPER_SOUND: sound},
            timeout_ms=5000,
        )

    async def spy(self, phone: str, channel: str, options: str, caller_id: str) -> None:
        """Ring `phone` (a device, e.g. PJSIP/9001); once answered it runs ChanSpy on
        `channel` with `options` (listen, whisper or barge; see ivr.monitors.supervise)."""
        await self._ami.originate(
            phone, application="ChanSpy", data=f"{channel},{options}", caller_id=caller_id
        )

    async def device_state(self, device: str) -> str:
        """Asterisk's state of a device (DEVICE_STATE: NOT_INUSE, INUSE, RINGING,
        UNAVAILABLE, INVALID for an unknown one...)."""
        return await self._ami.getvar(f"DEVICE_STATE({device})") or "UNKNOWN"

    async def bridge_peer(self, channel: str) -> str:
        """The one channel `channel` is bridged with now (BRIDGEPEER); empty if none or
        several (a supervisor joined the bridge)."""
        value = await self._ami.getvar("BRIDGEPEER", channel)
        return "" if "," in value or value == "(null)" else value

    async def hangup(self, channel: str) -> None:
        await self._ami.hangup(channel)

    async def queue_log(self, action: Mapping[str, str]) -> None:
        """Write a line of queue_log (an `Action: QueueLog`, see ivr.telephony.queue_log)."""
        await self._ami.send({**action, "Action": "QueueLog"}, timeout=5)

    async def user_event(self, name: str, fields: Mapping[str, str]) -> None:
        await self._ami.user_event(name, **fields)
