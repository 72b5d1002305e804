"""The subscriber directory's records: subscribers and posted outages. The menu reads
them (identify, outage steps), storage keeps them, the agent desk shows them."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Subscriber:
    """A subscriber account: one contract, many phones; the address decides the region
    office that serves it."""

    id: int
    contract: str
    full_name: str
    address: str
    city: str
    region_office: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outage:
    """A mass outage posted for an area (city) and a service ("" = every service)."""

    id: int
    area: str
    service: str
    message: str
    expected_restore: datetime | None
