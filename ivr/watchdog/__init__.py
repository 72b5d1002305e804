"""Liveness: the engine pings a watchdog (systemd's sd_notify protocol); `ivr supervise`
is a small watchdog of its own for docker and plain hosts."""
