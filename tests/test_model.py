"""Days to expiry and expiry buckets at the pinned boundaries; time parsing at the edge."""

from datetime import datetime, timedelta, timezone

import pytest

from scanner.model import (Certificate, NaiveDatetimeError, days_to_expiry, expiry_bucket, format_time,
                           parse_time)

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("offset, days, bucket", [
    (timedelta(days=91), 91, "VALID"),
    (timedelta(days=90, hours=12), 90, "ATTENTION_90D"),
    (timedelta(days=90), 90, "ATTENTION_90D"),
    (timedelta(days=31), 31, "ATTENTION_90D"),
    (timedelta(days=30), 30, "WARNING_30D"),
    (timedelta(days=29), 29, "WARNING_30D"),
    (timedelta(days=8), 8, "WARNING_30D"),
    (timedelta(days=7, hours=12), 7, "CRITICAL_7D"),
    (timedelta(days=7), 7, "CRITICAL_7D"),
    (timedelta(days=1), 1, "CRITICAL_7D"),
    (timedelta(hours=12), 0, "CRITICAL_7D"),
    (timedelta(seconds=1), 0, "CRITICAL_7D"),
    (timedelta(0), 0, "EXPIRED"),
    (timedelta(hours=-12), -1, "EXPIRED"),
    (timedelta(days=-1), -1, "EXPIRED"),
    (timedelta(days=-1, seconds=-1), -2, "EXPIRED"),
])
def test_days_and_bucket_boundaries(offset, days, bucket):
    not_after = AS_OF + offset
    assert days_to_expiry(not_after, AS_OF) == days
    assert expiry_bucket(not_after, AS_OF) == bucket


def test_facts_derive_from_as_of_not_status():
    cert = Certificate(id="x", source="aws.acm", status="ISSUED", not_after=AS_OF - timedelta(hours=1))
    facts = cert.facts(AS_OF)
    assert facts["expiry_bucket"] == "EXPIRED" and facts["days_to_expiry"] == -1
    assert facts["status"] == "ISSUED"  # the provider's word is kept, not trusted for expiry


def test_unknown_expiry_stays_unknown():
    facts = Certificate(id="x", source="file").facts(AS_OF)
    assert facts["days_to_expiry"] is None and facts["expiry_bucket"] is None


@pytest.mark.parametrize("text, expected", [
    ("2026-06-01", AS_OF),
    ("2026-06-01T00:00:00Z", AS_OF),
    ("2026-06-01T02:00:00+02:00", AS_OF),
    ("2026-05-31T20:00:00-04:00", AS_OF),
])
def test_parse_time_normalises_to_utc(text, expected):
    assert parse_time(text) == expected
    assert parse_time(text).tzinfo == timezone.utc


def test_naive_timestamps_are_refused():
    with pytest.raises(NaiveDatetimeError):
        parse_time("2026-06-01T00:00:00")
    with pytest.raises(NaiveDatetimeError):
        parse_time(datetime(2026, 6, 1))


def test_format_time_round_trips():
    assert format_time(AS_OF) == "2026-06-01T00:00:00Z"
    assert parse_time(format_time(AS_OF + timedelta(microseconds=5))) == AS_OF + timedelta(microseconds=5)


def test_wildcard_and_validity_are_derived():
    cert = Certificate(id="x", source="tls", domain="a.example.com", sans=["a.example.com", "*.b.example.com"],
                       not_before=AS_OF, not_after=AS_OF + timedelta(days=200, hours=5))
    assert cert.is_wildcard is True
    assert cert.validity_days == 200
    assert Certificate(id="y", source="tls", domain="a.example.com").is_wildcard is False


@pytest.mark.parametrize("moment", [
    datetime(2026, 6, 1, 3, 4, 5, tzinfo=timezone.utc),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    datetime(999, 1, 2, 0, 0, 0, tzinfo=timezone.utc),  # a year below 1000 is still four digits
    datetime(2026, 6, 1, 3, 4, 5, 120, tzinfo=timezone.utc),
    datetime(2026, 6, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),  # the day before, in UTC
])
def test_format_time_is_utc_iso_8601(moment):
    utc = moment.astimezone(timezone.utc)
    expected = utc.replace(tzinfo=None).isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"
    assert format_time(moment) == expected


def test_parse_time_reads_a_lower_case_z_as_utc():
    """ISO 8601 allows 'z'; Python's fromisoformat does not (found by mutation testing)."""
    assert parse_time("2026-06-01T12:00:00z") == datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    assert parse_time("2026-06-01T12:00:00.250z") == datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)


def test_facts_add_what_as_of_derives_to_the_stored_record():
    """Certificate.facts is what `inventory --export-json` and the reports read: the stored
    fields plus every value derived from as_of, the chain's included."""
    from scanner.model import ChainCertificate

    as_of = datetime(2026, 6, 1, tzinfo=timezone.utc)
    intermediate = ChainCertificate(subject="CN=CA", not_after=as_of + timedelta(days=5, hours=1))
    cert = Certificate(id="h:443", source="tls", domain="h.example", sans=["*.h.example"],
                       not_before=as_of - timedelta(days=10), not_after=as_of + timedelta(days=40),
                       chain=[intermediate], chain_not_after=intermediate.not_after)
    facts = cert.facts(as_of)
    assert facts["id"] == "h:443" and facts["domain"] == "h.example" and facts["is_wildcard"] is True
    assert (facts["days_to_expiry"], facts["expiry_bucket"]) == (40, "ATTENTION_90D")
    assert (facts["chain_days_to_expiry"], facts["chain_expiry_bucket"]) == (5, "CRITICAL_7D")
    assert facts["chain_expires_first"] is True and facts["validity_days"] == 50
    assert facts["cabf_validity_days"] == 51  # inclusive of the last second: 50 days and 1 s
    assert facts["chain"] == [intermediate.to_dict()] and facts["chain"][0]["not_after"] == "2026-06-06T01:00:00Z"
    bare = Certificate(id="x", source="file").facts(as_of)
    assert bare["days_to_expiry"] is None and bare["expiry_bucket"] is None
    assert bare["chain_days_to_expiry"] is None and bare["chain_expiry_bucket"] is None
    assert bare["cabf_validity_days"] is None and bare["chain_expires_first"] is None


def test_every_field_has_the_kind_rules_are_checked_against():
    """The kinds the rule loader refuses mismatched values by (model.FIELD_KINDS)."""
    from scanner.model import CHAIN_FIELD_KINDS, FIELD_KINDS

    expected = {"id": "text", "key_size": "number", "in_use": "boolean", "not_after": "timestamp",
                "sans": "list", "in_use_by": "list", "tags": "mapping", "validation": "records",
                "chain": "records", "days_to_expiry": "number", "expiry_bucket": "text",
                "is_wildcard": "boolean", "cabf_validity_days": "number", "chain_not_after": "timestamp"}
    assert {name: FIELD_KINDS[name] for name in expected} == expected
    assert CHAIN_FIELD_KINDS == {"subject": "text", "issuer": "text", "not_after": "timestamp",
                                 "signature_algorithm": "text", "signature_hash": "text",
                                 "fingerprint_sha256": "text", "self_signed": "boolean"}
