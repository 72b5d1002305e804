"""`make test` runs two pytest-xdist workers (`-n 2`): one runs every test that needs the
Asterisk sandbox or SIP clients (tests/e2e, tests/sip), in order, as without xdist; the other
runs everything else beside it. (xdist's own --dist loadgroup does not group on pytest 9.)"""

from typing import Any

from xdist.scheduler import LoadScopeScheduling

SERIAL = ("tests/e2e/", "tests/sip/")  # one Asterisk, fixed SIP ports: one test at a time


class SandboxScheduling(LoadScopeScheduling):
    """Two scopes: the tests that share the sandbox, and the rest."""

    def _split_scope(self, nodeid: str) -> str:
        return "sandbox" if nodeid.startswith(SERIAL) else "local"


def pytest_xdist_make_scheduler(config: Any, log: Any) -> SandboxScheduling:
    return SandboxScheduling(config, log)
