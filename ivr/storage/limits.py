"""How long caller-given text may be, in one place: the API refuses longer input (400,
ivr.web.input; ivr/web/openapi.yaml declares the same numbers) and the storage writers
set aside rows whose keys are longer (ivr.storage.batch: dead letters), so text from any
edge (API, FastAGI, AMI) cannot make the database refuse a batch.

The columns are TEXT (no length on either backend). What a long value breaks is an index:
a PostgreSQL B-tree entry holds at most INDEX_ENTRY_BYTES bytes ("index row size exceeds
btree version 4 maximum"), so an indexed column must stay below it even when every
character takes 4 bytes in UTF-8 (tests/storage/test_limits.py writes such values).
"""

SHORT = 200  # names, cities, lines, agent ids, call ids
ADDRESS = 500
LONG = 4000  # free text: purpose, complaint, details, outage message (never indexed)
PHONE = 40
CALL_ID = SHORT  # Asterisk's UNIQUEID is at most 150 (AST_MAX_UNIQUEID)

# PostgreSQL's B-tree limit for an 8 kB page: (8192 - page overhead) / 3, minus the tuple
# header. An indexed text column takes at most MAX_UTF8_BYTES per character.
INDEX_ENTRY_BYTES = 2704
MAX_UTF8_BYTES = 4


class TooLong(ValueError):
    """A value longer than its limit: the row cannot be stored as it is."""


def check_length(field: str, value: str | None, limit: int) -> str | None:
    """`value` when it fits in `limit` characters; TooLong ("field: N characters, at most
    M") otherwise."""
    if value is not None and len(value) > limit:
        raise TooLong(f"{field}: {len(value)} characters, at most {limit}")
    return value
