"""The process's file-descriptor budget: how many HTTP connections fit without starving
FastAGI.

FastAGI, AMI, HTTP, the database and prompt files share one RLIMIT_NOFILE. When the limit is
reached, the event loop cannot accept a FastAGI connection (libuv accepts and drops it) and
the caller takes the dialplan's fallback. So HTTP only gets what is left after a reserve.
"""

import logging
import os
import resource
from dataclasses import dataclass

log = logging.getLogger(__name__)

AUTO_RESERVE_MIN = 256  # the automatic reserve: half the limit, at least this many
MIN_HTTP_CONNECTIONS = 4  # HTTP keeps a few connections even on a too-small limit
UNLIMITED_TARGET = 1 << 20  # soft limit asked for when the hard limit is unlimited


@dataclass(frozen=True)
class FdBudget:
    limit: int  # the soft RLIMIT_NOFILE in force
    in_use: int  # descriptors open when the budget was taken
    reserve: int  # kept for FastAGI calls, AMI, the database and prompt files
    http_backlog: int  # connections accepted before the cap can refuse them

    @property
    def http(self) -> int:
        """HTTP connections that fit in what is left (at least MIN_HTTP_CONNECTIONS)."""
        left = self.limit - self.in_use - self.reserve - self.http_backlog
        return max(left, MIN_HTTP_CONNECTIONS)

    @property
    def starved(self) -> bool:
        """The limit is too small for the reserve: HTTP runs on its minimum."""
        return self.limit - self.in_use - self.reserve - self.http_backlog < MIN_HTTP_CONNECTIONS


def raise_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    return UNLIMITED_TARGET if soft == resource.RLIM_INFINITY else soft


def open_descriptors() -> int:
    """How many file descriptors this process has open (0 where the OS does not say)."""
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return max(len(os.listdir(directory)) - 1, 0)  # minus listdir's own
        except OSError:
            continue
    return 0


def take_budget(reserve: int, http_backlog: int) -> FdBudget:
    """The budget now: `reserve` 0 means half the limit, at least AUTO_RESERVE_MIN."""
    limit = raise_file_limit()
    kept = reserve if reserve > 0 else max(limit // 2, AUTO_RESERVE_MIN)
    return FdBudget(limit, open_descriptors(), kept, http_backlog)
