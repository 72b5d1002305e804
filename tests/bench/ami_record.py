"""Record the AMI burst the ingest benchmark replays (tests/fixtures/ami/burst.ami.gz).

A raw TCP session logs in as the engine's AMI user (`ivr-engine`, so Asterisk applies the
engine's own eventfilter, ENGINE_EVENTS) and keeps every byte it receives, while the
sandbox's tester user makes a burst in the queue `extra`: six sandbox agents
(Local/<id>@ivr-test-agent, one never answers, so app_queue autopauses it) and --callers
callers (Local/s@ivr-bench-waiter) who hang up after 2 to 5 s, answered or not; plus a
few IvrFallback UserEvents sent through the AMI action UserEvent (the dialplan's fallback
path needs the engine's FastAGI down). The fixture is the events only (the Login response
is not kept), gzipped. Re-record (sandbox only, under the sandbox lock):

    flock /tmp/ivr-sandbox.lock bash -c '.venv/bin/ivr sandbox up >/dev/null && \
        .venv/bin/python -m tests.bench.ami_record [--callers 300]'
"""

import argparse
import asyncio
import contextlib
import gzip
import sys
from collections import Counter
from pathlib import Path

from ivr.config import PROJECT_ROOT, load_settings
from ivr.sandbox.calls.tester import agent_behaves, tester_ami
from ivr.telephony import names
from ivr.telephony.ami import AmiClient, AmiError

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "ami" / "burst.ami.gz"
QUEUE = "extra"
AGENTS = ("1001", "1002", "1003", "1004", "1005", "1006")
NEVER_ANSWERS = "1006"
END = b"\r\n\r\n"


class RawSession:
    """An AMI session that logs in and keeps the raw bytes it receives afterwards."""

    def __init__(self) -> None:
        self.received = bytearray()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def login(self, host: str, port: int, user: str, secret: str) -> None:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        await self._reader.readline()  # the banner
        self._writer.write(
            f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n"
            "Events: on\r\nActionID: record-login\r\n\r\n".encode()
        )
        response = await asyncio.wait_for(self._reader.readuntil(END), 5)
        if b"Response: Success" not in response:
            raise SystemExit(f"record: login as {user} refused: {response!r}")
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        while chunk := await self._reader.read(65536):
            self.received += chunk

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()


def events_only(raw: bytes) -> bytes:
    """The complete messages that are events (no response, no trailing partial one)."""
    kept = [m for m in raw.split(END)[:-1] if m.startswith(b"Event: ")]
    return b"".join(m + END for m in kept)


def event_names(stream: bytes) -> Counter[str]:
    return Counter(
        m.split(b"\r\n", 1)[0].removeprefix(b"Event: ").decode() for m in stream.split(END)[:-1]
    )


async def burst(ami: AmiClient, callers: int, batch: int) -> None:
    for agent in AGENTS:
        await agent_behaves(ami, agent, "never" if agent == NEVER_ANSWERS else "0", "1")
        await ami.send(
            {
                "Action": "QueueAdd",
                "Queue": QUEUE,
                "Interface": f"Local/{agent}@ivr-test-agent/n",
                "MemberName": agent,
            }
        )

    async def originate(i: int) -> None:
        try:
            await ami.originate(
                "Local/s@ivr-bench-waiter/n",
                context="ivr-test-caller",
                exten="hold",
                caller_id=f"38044{i:07d}",
                variables={
                    names.VAR_QUEUE: QUEUE,
                    names.VAR_PRIORITY: str(i % 3),
                    "IVR_TEST_HOLD": str(2 + i % 4),
                },
                reply_timeout=30,
            )
        except AmiError as exc:
            print(f"record: originate {i} failed: {exc}", file=sys.stderr)

    for start in range(0, callers, batch):
        await asyncio.gather(*(originate(i) for i in range(start, min(start + batch, callers))))
        for _ in range(start, min(start + batch, callers), 10):  # a fallback now and then
            await ami.user_event(
                names.EVENT_FALLBACK, Line="5552000", Queue=QUEUE, Reason="FAILURE/"
            )
        await asyncio.sleep(0.2)
    await asyncio.sleep(8.0)  # the last callers hang up, the agents finish their calls


async def cleanup(ami: AmiClient) -> None:
    for agent in AGENTS:
        with contextlib.suppress(AmiError):
            await ami.send(
                {
                    "Action": "QueueRemove",
                    "Queue": QUEUE,
                    "Interface": f"Local/{agent}@ivr-test-agent/n",
                }
            )
        await agent_behaves(ami, agent, "", "")


def save(stream: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(stream, mtime=0))


async def record(callers: int, batch: int, out: Path) -> None:
    settings = load_settings()
    session = RawSession()
    ami = tester_ami(settings)
    await ami.connect()
    try:
        await session.login(
            settings.ami_host,
            settings.ami_port,
            settings.ami_user,
            settings.resolved_ami_secret(),
        )
        await burst(ami, callers, batch)
        await cleanup(ami)
        await asyncio.sleep(1.0)
    finally:
        await session.close()
        await ami.close()
    stream = events_only(bytes(session.received))
    save(stream, out)
    counts = event_names(stream)
    print(f"record: {sum(counts.values())} events, {len(stream)} bytes -> {out}")
    for name, count in counts.most_common():
        print(f"  {name}: {count}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--callers", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    asyncio.run(record(args.callers, args.batch, args.out))
