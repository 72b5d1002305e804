#!/usr/bin/python3
"""AGI(fallback_route.py,<line>) on the fallback path (the engine is down): the caller's
class and queue priority from the line's sphere and the directory; see ivr.offline.fallback.
Reads the engine's settings file (/etc/ivr/ivr.yaml, or IVR_CONFIG)."""

import os
import sys

# Below Asterisk and the engine: a burst of these processes must not starve the media.
os.nice(10)
# Where the sandbox (and the Asterisk image) put the ivr package and pyst2 beside it.
sys.path.insert(0, os.environ.get("IVR_AGI_LIB", "/opt/ivr-agi"))

from ivr.offline.scripts import fallback_route_main

if __name__ == "__main__":
    sys.exit(fallback_route_main(sys.stdin, sys.stdout))
