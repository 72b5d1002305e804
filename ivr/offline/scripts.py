"""The two scripts' main functions (agi_scripts/ only puts ivr on the path and calls them):
read the AGI session from stdin, answer on stdout, log into Asterisk's log."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from ivr.offline import fallback
from ivr.offline.agi import AgiLogHandler, ClassicAgi, ClassicAgiError
from ivr.offline.runtime import load_config, script_settings

log = logging.getLogger(__name__)

# The whole lookup (files and database) before the caller goes on with the plain fallback.
FALLBACK_DEADLINE_S = 3.0


def _run(
    name: str,
    stdin: TextIO,
    stdout: TextIO,
    body: Callable[[ClassicAgi], Coroutine[Any, Any, None]],
) -> int:
    agi = ClassicAgi(stdin, stdout)
    handler = AgiLogHandler(agi, name)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        asyncio.run(body(agi))
        return 0
    except ClassicAgiError as exc:  # the caller hung up, or Asterisk went away
        log.info("%s: the call ended: %s", name, exc)
        return 0
    except Exception as exc:  # the dialplan goes on with the fallback queue
        first = str(exc).splitlines()[0] if str(exc) else ""
        log.error("%s failed: %s: %s", name, type(exc).__name__, first)
        return 1
    finally:
        root.removeHandler(handler)
        agi.close()


def fallback_route_main(stdin: TextIO, stdout: TextIO) -> int:
    """AGI(fallback_route.py,<line>): see ivr.offline.fallback."""

    async def body(agi: ClassicAgi) -> None:
        await fallback.serve(agi, script_settings(), FALLBACK_DEADLINE_S)

    return _run("fallback_route", stdin, stdout, body)


def meter_reading_main(stdin: TextIO, stdout: TextIO) -> int:
    """AGI(meter_reading.py,<line>): see ivr.offline.meter."""

    from ivr.offline import meter  # the flow runner: not loaded on every fallback call

    async def body(agi: ClassicAgi) -> None:
        await meter.serve(agi, load_config(script_settings()))

    return _run("meter_reading", stdin, stdout, body)
