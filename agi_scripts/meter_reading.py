#!/usr/bin/python3
"""AGI(meter_reading.py,<line>): meter readings with the engine down, by the engine's own
meter flow (flows/meter.yaml), stored in its database; see ivr.offline.meter.
Reads the engine's settings file (/etc/ivr/ivr.yaml, or IVR_CONFIG)."""

import os
import sys

# Below Asterisk and the engine: a burst of these processes must not starve the media.
os.nice(10)
# Where the sandbox (and the Asterisk image) put the ivr package and pyst2 beside it.
sys.path.insert(0, os.environ.get("IVR_AGI_LIB", "/opt/ivr-agi"))

from ivr.offline.scripts import meter_reading_main

if __name__ == "__main__":
    sys.exit(meter_reading_main(sys.stdin, sys.stdout))
