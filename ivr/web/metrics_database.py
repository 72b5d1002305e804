"""The database's state in /metrics: up or not, failures, the age of the last error."""

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ivr.storage.health import DatabaseStatus


class DatabaseCollector:
    def __init__(self, status: Callable[[], DatabaseStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield GaugeMetricFamily(
            "ivr_database_up",
            "1 while the database answers, 0 while it does not (calls go on without it)",
            value=1 if status.up else 0,
        )
        yield CounterMetricFamily(
            "ivr_database_failures",
            "Storage calls the database did not answer (refused, timed out), since start",
            value=status.failures,
        )
        if status.last_error_age is not None:
            yield GaugeMetricFamily(
                "ivr_database_last_error_age_seconds",
                "Seconds since the database last failed a call",
                value=status.last_error_age,
            )
