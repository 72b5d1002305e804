"""The flow history: every accepted flows/ version, with who asked for it, its files (so a
rollback can put them back) and its diff against the version before.

Content equal to the latest version is not a new version (a reload of unchanged files, a
second engine starting on the same flows). Rejected changes are not kept: they never
served a call, and the log names their problems. Blocking: call it from a thread.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ivr.flow.snapshot import Snapshot, changed_files, digest, unified_diff
from ivr.storage.db import writing
from ivr.storage.desk import check_limit
from ivr.storage.models import FlowVersionRecord

SessionFactory = Callable[[], Session]
FLOW_HISTORY_LOCK = 0x1F5_0012  # PostgreSQL: one engine at a time compares and adds


class UnknownVersion(LookupError):
    def __init__(self, version: int) -> None:
        super().__init__(f"no flow version {version} (see `ivr flow history`)")
        self.version = version


@dataclass(frozen=True, slots=True)
class FlowVersion:
    id: int
    at: datetime
    who: str
    changed: tuple[str, ...]  # files changed since the version before
    digest: str
    diff: str

    def as_dict(self, with_diff: bool = False) -> dict[str, object]:
        shown: dict[str, object] = {
            "id": self.id,
            "at": self.at.isoformat(),
            "who": self.who,
            "changed": list(self.changed),
        }
        return {**shown, "diff": self.diff} if with_diff else shown


def _view(record: FlowVersionRecord) -> FlowVersion:
    changed = tuple(n for n in record.changed.split(",") if n)
    return FlowVersion(record.id, record.at, record.who, changed, record.digest, record.diff)


class FlowHistory:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def record(self, files: Snapshot, who: str, at: datetime) -> FlowVersion | None:
        """Add `files` as the newest version; None when they equal the newest already."""
        if at.tzinfo is None:
            raise ValueError("at: expected a time with a time zone")
        new_digest = digest(files)
        with writing(self._session_factory, FLOW_HISTORY_LOCK) as session:
            latest = session.scalars(_newest_first().limit(1)).first()
            if latest is not None and latest.digest == new_digest:
                return None
            before = json.loads(latest.files) if latest else {}
            record = FlowVersionRecord(
                at=at,
                who=who,
                changed=",".join(changed_files(before, files)),
                digest=new_digest,
                files=json.dumps(dict(files), ensure_ascii=False),
                diff=unified_diff(before, files) if latest else "",
            )
            session.add(record)
            session.flush()
            return _view(record)

    def recent(self, limit: int = 20) -> list[FlowVersion]:
        """The latest versions, newest first."""
        with self._session_factory() as session:
            return [_view(r) for r in session.scalars(_newest_first().limit(check_limit(limit)))]

    def get(self, version: int) -> FlowVersion:
        return _view(self._record(version))

    def files(self, version: int) -> dict[str, str]:
        """The version's files (name -> text); UnknownVersion when there is none."""
        files: dict[str, str] = json.loads(self._record(version).files)
        return files

    def _record(self, version: int) -> FlowVersionRecord:
        with self._session_factory() as session:
            record = session.get(FlowVersionRecord, version)
        if record is None:
            raise UnknownVersion(version)
        return record


def _newest_first() -> Select[FlowVersionRecord]:
    v = FlowVersionRecord
    return select(v).order_by(v.id.desc())
