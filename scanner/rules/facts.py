"""The record a rule sees for one certificate at one as_of.

It is a short list, not a dict: [certificate, days_to_expiry, expiry_bucket, is_wildcard,
validity_days, captures, chain_days_to_expiry, chain_expiry_bucket]. Derived fields that do not
depend on as_of and that few rules read (cabf_validity_days, chain_expires_first) are
properties of the certificate, computed only when a rule reads them. Stored fields are read straight off the certificate (C-level
attrgetter); only the fields derived from as_of are computed, once per certificate. Copying
every field of every certificate into a dict cost more than evaluating all the rules. The
derived values come from scanner.model, where their definitions live.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scanner.model import Certificate, bucket_for, days_to_expiry

CERT, DAYS, BUCKET, WILDCARD, VALIDITY, CAPTURES, CHAIN_DAYS, CHAIN_BUCKET = range(8)
DERIVED = {"days_to_expiry": DAYS, "expiry_bucket": BUCKET, "is_wildcard": WILDCARD, "validity_days": VALIDITY,
           "chain_days_to_expiry": CHAIN_DAYS, "chain_expiry_bucket": CHAIN_BUCKET}

Record = list


def make_record(cert: Certificate, as_of: datetime) -> Record:
    not_after = cert.not_after
    if not_after is None:
        days = bucket = None
    else:
        days = days_to_expiry(not_after, as_of)
        bucket = bucket_for(days, not_after <= as_of)
    chain_end = cert.chain_not_after
    if chain_end is None:  # most certificates: nothing served above them, or not an endpoint
        chain_days = chain_bucket = None
    else:
        chain_days = days_to_expiry(chain_end, as_of)
        chain_bucket = bucket_for(chain_days, chain_end <= as_of)
    return [cert, days, bucket, cert.is_wildcard, cert.validity_days, None, chain_days, chain_bucket]


def lookup(rec: Record, name: str) -> Any:
    """A field, a derived value or a capture by name (for messages)."""
    index = DERIVED.get(name)
    if index is not None:
        return rec[index]
    captures = rec[CAPTURES]
    if captures is not None and name in captures:
        return captures[name]
    if name == "resource_id":
        return rec[CERT].id
    return getattr(rec[CERT], name, None)


def capture(rec: Record, name: str, items: list) -> None:
    """Keep the items that decided a quantifier, for the message. Nothing is allocated when
    there is nothing to name (the common, passing case); a stale capture of the same name
    is dropped so a message never names another rule's items."""
    captures = rec[CAPTURES]
    if items:
        if captures is None:
            captures = rec[CAPTURES] = {}
        captures[name] = items
    elif captures is not None:
        captures.pop(name, None)
