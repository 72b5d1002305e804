"""Fakes shared by unit tests."""

from datetime import datetime

from ivr.subscribers import Outage, Subscriber


class NobodyKnown:
    """A subscriber store that knows nobody and no outage."""

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None:
        return None

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None:
        return None

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        return None
