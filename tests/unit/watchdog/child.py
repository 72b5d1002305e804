"""A tiny engine stand-in for the supervisor's tests: `child.py MODE`.

ping: READY=1, then WATCHDOG=1 every 0.1 s; on SIGTERM, STOPPING=1 and exit 0.
deaf: like ping but ignores SIGTERM.  plain: like ping, SIGTERM kills it.
mute: never ready.  exit: ready, then exit 3.
foreign: never ready itself; a process it starts sends READY=1 and pings instead.
"""

import signal
import subprocess
import sys
import time

from ivr.watchdog.notify import SdNotifier

mode = sys.argv[1]
notifier = SdNotifier.from_env()


def stop(*_: object) -> None:
    notifier.stopping()
    sys.exit(0)


if mode != "plain":
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "deaf" else stop)
if mode == "foreign":
    subprocess.Popen([sys.executable, __file__, "ping"])
    time.sleep(60)
if mode == "mute":
    time.sleep(60)
notifier.ready("test child")
if mode == "exit":
    time.sleep(0.2)
    sys.exit(3)
for _ in range(600):
    notifier.ping()
    time.sleep(0.1)
