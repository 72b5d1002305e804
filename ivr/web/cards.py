"""How the API and the screen pop show a subscriber and an outage."""

from dataclasses import asdict
from typing import Any

from ivr.storage.desk import OutageView
from ivr.subscribers import Subscriber


def subscriber_card(subscriber: Subscriber) -> dict[str, Any]:
    """A subscriber as the API shows it: {id, contract, full_name, address, city,
    region_office, phones}."""
    return {**asdict(subscriber), "phones": list(subscriber.phones)}


def outage_view(outage: OutageView) -> dict[str, Any]:
    return asdict(outage)
