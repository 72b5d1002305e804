"""The storage tables: the call journal, the subscriber directory, the outage board, the
reports written off the call path (unreachable numbers, meter readings, callbacks) and the
dead letters (rows the writers could not store)."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    UnicodeText,
    UniqueConstraint,
    column,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint/index names on every backend, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; always read back aware, in UTC (also on
    SQLite, which has no time zone type). Naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: stored timestamps must be aware")
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
        float: Double(),
    }


class CallRecord(Base):
    """One call. Outcome: started (in the menu), routed, fallback, queued, self_service
    (the menu finished the call, never queued), answered (an operator picked up),
    abandoned (hung up while waiting in a queue, or ended before reaching a queue) or ended
    (ended after being queued, neither answered nor abandoned in the queue)."""

    __tablename__ = "call_journal"
    __table_args__ = (
        # When a call happened, for the service level windows (ivr.storage.service_level
        # CALL_TIME): an expression index, used by SQLite (>= 3.9) and PostgreSQL only for
        # a query that repeats the expression, same function and columns in the same order.
        Index(
            "ix_call_journal_call_time",
            func.coalesce(
                column("started_at"),
                column("queued_at"),
                column("answered_at"),
                column("abandoned_at"),
            ),
        ),
    )

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
    finished_in_menu_at: Mapped[datetime | None]
    # The queue monitors: answer, talk time, escalations (see ivr.storage.journal).
    agent: Mapped[str | None]  # the member who answered
    agent_channel: Mapped[str | None]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)  # agent KPI windows
    wait_seconds: Mapped[float | None]  # queue wait, until answered or abandoned
    talk_seconds: Mapped[float | None]
    target_met: Mapped[bool | None]  # answered within the answer target; NULL: not known yet
    escalations: Mapped[str | None]  # steps in the order they ran: "raise_priority,overflow"
    over_guideline: Mapped[bool] = mapped_column(default=False, server_default=false())
    ended_by: Mapped[str | None]  # caller | agent | transfer | hard_limit (the engine)
    abandoned_at: Mapped[datetime | None]  # hung up while waiting in a queue
    subscriber_id: Mapped[int | None]  # identified by the menu (by phone or contract)
    # The wait the engine predicted when the caller joined (ivr.routing.predict); NULL: not
    # predicted (the call never queued, or nobody was on duty).
    predicted_wait_seconds: Mapped[float | None]
    # What the caller pressed, one token per input request as `--dtmf` writes it ("7 - 3
    # 04321#", "-" a timeout; "" none asked): what `ivr flow replay` plays again.
    keys: Mapped[str | None]


# --- the shared subscriber database and the outage board ----------------------------------


class SubscriberRecord(Base):
    """A subscriber account: one contract, many phones."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract: Mapped[str] = mapped_column(unique=True)
    full_name: Mapped[str]
    address: Mapped[str]
    city: Mapped[str]
    region_office: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # The ORM deletes the phones itself: SQLite does not enforce foreign keys by default.
    phones: Mapped[list["SubscriberPhone"]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="SubscriberPhone.phone"
    )


class SubscriberPhone(Base):
    """One phone of an account (digits only). A phone may belong to several accounts."""

    __tablename__ = "subscriber_phones"
    __table_args__ = (UniqueConstraint("subscriber_id", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(index=True)

    subscriber: Mapped[SubscriberRecord] = relationship(back_populates="phones")


class OutageRecord(Base):
    """A mass outage posted for an area (city) and a service ("" = every service)."""

    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area: Mapped[str]
    service: Mapped[str] = mapped_column(default="", server_default="")
    message: Mapped[str]
    starts_at: Mapped[datetime]
    expected_restore: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutageAlertRecord(Base):
    """A suspected mass outage: a spike of calls for one city, line and first menu choice.
    status: open (for a supervisor), posted (outage_id: the outage posted from it) or
    dismissed; subsided_at: when the calls fell back (NULL: the spike is still on)."""

    __tablename__ = "outage_alerts"
    __table_args__ = (
        # One spike on per key: a second engine's (or a retried) alert for it is refused.
        Index(
            "uq_outage_alerts_spike_on",
            "city",
            "line",
            "choice",
            unique=True,
            sqlite_where=column("subsided_at").is_(None),
            postgresql_where=column("subsided_at").is_(None),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(index=True)
    city: Mapped[str]
    line: Mapped[str]
    choice: Mapped[str]  # the first menu choice, e.g. "menu:2" ("" = none)
    calls: Mapped[int] = mapped_column(Integer)  # in the window when raised
    usual: Mapped[float]  # the usual calls per window for that hour of the week
    window: Mapped[float]  # seconds
    message: Mapped[str]  # the prefilled announcement
    language: Mapped[str]
    status: Mapped[str] = mapped_column(default="open", server_default="open", index=True)
    subsided_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None]
    outage_id: Mapped[int | None]


# --- reports written from domain events (text: NULL = unknown) ----------------------------


class UnreachableReportRecord(Base):
    """A caller reports that another service number did not work; logged against
    `reported_line`, the number that could not be reached."""

    __tablename__ = "unreachable_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]  # the event's time
    call_id: Mapped[str | None]
    reported_line: Mapped[str | None] = mapped_column(index=True)
    via_line: Mapped[str | None]
    published: Mapped[str | None]
    dialled_from: Mapped[str | None]
    problem: Mapped[str | None]
    caller: Mapped[str | None]
    subscriber_id: Mapped[int | None]
    contract: Mapped[str | None]
    full_name: Mapped[str | None]
    address: Mapped[str | None]
    details: Mapped[str | None]
    source: Mapped[str | None]
    status: Mapped[str] = mapped_column(default="new", server_default="new")


class MeterReadingRecord(Base):
    """A meter reading taken by the voice menu."""

    __tablename__ = "meter_readings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    call_id: Mapped[str | None]
    line: Mapped[str | None]
    caller: Mapped[str | None]
    contract: Mapped[str | None] = mapped_column(index=True)
    subscriber_id: Mapped[int | None]
    reading: Mapped[str | None]


class CallbackRequestRecord(Base):
    """A promise to call a caller back; worked through by status: open (waiting for an
    attempt), dialling (an attempt is running), done (answered) or failed (given up). See
    ivr.storage.callbacks. The caller's place in line is coalesce(waiting_since, created_at)."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    call_id: Mapped[str | None]
    line: Mapped[str | None]
    phone: Mapped[str | None]
    name: Mapped[str | None]
    queue: Mapped[str | None]
    caller_class: Mapped[str | None]
    promised_by: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(default="open", server_default="open", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None]
    outcome: Mapped[str | None]  # of the last attempt
    waiting_since: Mapped[datetime | None]  # the caller's wait began (None: at created_at)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)  # None: at once
    answered_at: Mapped[datetime | None]
    language: Mapped[str | None]  # the call's language: the callback greets him in it


# --- filed by operators from the agent view -----------------------------------------------


class AppealRecord(Base):
    """A non-target call (agency, supplier, housing cooperative, police...): no subscriber
    data is given out, only a message passed on."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    call_id: Mapped[str | None]
    line: Mapped[str | None]
    agent: Mapped[str | None]  # who took it
    city: Mapped[str]
    organisation: Mapped[str]
    position: Mapped[str | None]
    full_name: Mapped[str]
    contact_phone: Mapped[str]
    purpose: Mapped[str]
    status: Mapped[str] = mapped_column(default="new", server_default="new")


class ServiceRequestRecord(Base):
    """A subscriber's complaint or a technician request ("ticket for the technician")."""

    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(index=True)  # complaint | technician
    call_id: Mapped[str | None]
    line: Mapped[str | None]
    agent: Mapped[str | None]
    subscriber_id: Mapped[int | None] = mapped_column(index=True)
    contract: Mapped[str | None]
    full_name: Mapped[str | None]
    address: Mapped[str | None]
    contact_phone: Mapped[str | None]
    text: Mapped[str]
    status: Mapped[str] = mapped_column(default="new", server_default="new")


# --- agent activity (for occupancy, not-ready and ringing time) ---------------------------


class AgentActivityRecord(Base):
    """One stretch of an agent in one state (ready, paused, in_call, ringing, unavailable,
    logged_out); ended_at NULL = the state the agent is in now."""

    __tablename__ = "agent_activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(index=True)
    state: Mapped[str]
    reason: Mapped[str | None]
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]


class AgentRingRecord(Base):
    """app_queue rang an agent for a caller (answered or not) for `ring_seconds`."""

    __tablename__ = "agent_rings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    agent: Mapped[str] = mapped_column(index=True)
    queue: Mapped[str | None]
    call_id: Mapped[str | None]
    ring_seconds: Mapped[float]
    answered: Mapped[bool]


# --- rows the writers could not store (see ivr.storage.dead_letters) ----------------------


class DeadLetterRecord(Base):
    """An event a storage writer set aside because the database refused it (the data, not
    an outage): `row` is the event as JSON, `error` the database's one-line answer."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)  # when it was set aside
    writer: Mapped[str]  # journal | reports | agent_log
    row: Mapped[str]
    error: Mapped[str]


# --- the storage outbox (see ivr.storage.spool and ivr.storage.marks) ---------------------


class OutboxMarkRecord(Base):
    """The last outbox event a writer applied, per spool: written in the same transaction
    as the events, so a replay after a crash skips exactly what the database holds."""

    __tablename__ = "outbox_marks"

    spool_id: Mapped[str] = mapped_column(UnicodeText, primary_key=True)  # "<writer>:<id>"
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


# --- supervisors joining live calls (see ivr.monitors.supervise) --------------------------


class SupervisionRecord(Base):
    """A supervisor's phone was rung into a live call: who asked, when, which call, how."""

    __tablename__ = "supervision_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    by: Mapped[str]  # the API token's role and hash prefix: "supervisor sha256:3f2a9c1e"
    call_id: Mapped[str] = mapped_column(index=True)
    agent: Mapped[str]
    mode: Mapped[str]  # listen | whisper | barge
    phone: Mapped[str]


class LeaseRecord(Base):
    """Which engine owns an Asterisk's live actions, until when (ivr.storage.ownership)."""

    __tablename__ = "ownership_leases"

    name: Mapped[str] = mapped_column(primary_key=True)  # the Asterisk's name
    holder: Mapped[str]  # the engine's id
    expires_at: Mapped[float] = mapped_column(Double)  # epoch s, by the database's clock


class LiveStepClaim(Base):
    """A live step (ladder step, talk mark) claimed on a call before it ran: once, ever."""

    __tablename__ = "live_step_claims"

    asterisk: Mapped[str] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(primary_key=True)  # "ladder/2", "talk/warning"
    engine: Mapped[str]
    claimed_at: Mapped[datetime] = mapped_column(index=True)


class LiveStateRecord(Base):
    """What an Asterisk's owner sees live (waiting callers, talks, agents), rewritten about
    once a second, so every engine shows the whole floor (ivr.storage.live_state)."""

    __tablename__ = "live_state"

    asterisk: Mapped[str] = mapped_column(primary_key=True)  # the Asterisk's name
    engine: Mapped[str]  # the owner that wrote it
    written_at: Mapped[float] = mapped_column(Double)  # epoch s, by the database's clock
    payload: Mapped[str]  # JSON (ivr.monitors.live_json)


# --- the flow history (see ivr.storage.flow_history) --------------------------------------


class FlowVersionRecord(Base):
    """One accepted flows/ version: when, who, its files (to roll back to) and its diff
    against the version before."""

    __tablename__ = "flow_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    who: Mapped[str]  # startup | file change | api <principal> | rollback of N by <principal>
    changed: Mapped[str]  # the files changed since the version before, comma-separated
    digest: Mapped[str] = mapped_column(index=True)  # SHA-256 of the content
    files: Mapped[str]  # JSON: file name -> text
    diff: Mapped[str]  # unified diff against the version before ("" for the first)
