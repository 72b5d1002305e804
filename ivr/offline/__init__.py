"""What still runs when the engine is down: classic AGI scripts (agi_scripts/), run by
Asterisk as a process per call, reading the engine's own files and database directly."""
