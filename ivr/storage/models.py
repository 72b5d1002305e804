"""The call journal table: one row per call, merged from the call's domain events."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import Boolean, DateTime, Dialect, Integer, MetaData, UnicodeText, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint/index names on every backend, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; always read back aware, in UTC (also on
    SQLite, which has no time zone type). Naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: journal timestamps must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        str: UnicodeText(),
        datetime: UtcDateTime(),
        bool: Boolean(),
    }


class CallRecord(Base):
    """One call. Outcome: started (in the menu), routed, fallback, queued, abandoned (ended
    before reaching a queue) or ended (ended after being queued)."""

    __tablename__ = "call_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(unique=True, index=True)  # Asterisk UNIQUEID
    line: Mapped[str | None]  # the DID dialled
    caller: Mapped[str | None]
    channel: Mapped[str | None]
    started_at: Mapped[datetime | None]
    routed_at: Mapped[datetime | None]
    queue: Mapped[str | None]
    caller_class: Mapped[str | None]
    priority: Mapped[int | None]
    menu_path: Mapped[str | None]  # e.g. "main:1>internet:2"
    fell_back: Mapped[bool] = mapped_column(default=False, server_default=false())
    fallback_reason: Mapped[str | None]
    queued_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    hangup_cause: Mapped[str | None]
    outcome: Mapped[str | None]
