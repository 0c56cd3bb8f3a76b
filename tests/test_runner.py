"""The collection runner: stable shards, every unit once, one broken unit never stops the rest."""

import random
from datetime import datetime, timezone

from scanner.collect import SourceOptions, Unit, UnitResult
from scanner.collect.runner import collect, in_shard
from scanner.model import Certificate, CollectionError, Coverage

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
KEYS = [f"aws.acm/{100000000000 + a}/{r}" for a in range(31) for r in ("eu-west-1", "us-east-1")]


def test_shards_partition_units_exactly_once_whatever_the_order():
    for count in (1, 2, 3, 5, 8):
        owners = {}
        keys = KEYS[:]
        random.Random(count).shuffle(keys)
        for key in keys:
            shards = [i for i in range(1, count + 1) if in_shard(key, (i, count))]
            assert len(shards) == 1
            owners[key] = shards[0]
        assert set(owners.values()) == set(range(1, count + 1))  # every shard gets work
    # The partition is a contract between the jobs of one sharded scan (and between versions
    # of certscan running them): a unit's shard depends on its key alone, pinned here.
    assert [next(i for i in range(1, 5) if in_shard(k, (i, 4))) for k in KEYS[:8]] == [1, 2, 2, 2, 1, 2, 3, 2]


class FakeCollector:
    """A collector over fixed units; unit 'boom' raises as a buggy collector would."""

    source = "aws.acm"

    def __init__(self, keys, listing_errors=()):
        self.keys, self.listing_errors = keys, list(listing_errors)
        self.finished_with = None

    def units(self):
        return [Unit(k, k) for k in self.keys], self.listing_errors

    def collect(self, unit):
        if unit.key == "boom":
            raise RuntimeError("unexpected answer")
        if unit.key.endswith("denied"):
            return UnitResult(errors=[CollectionError("aws.acm", "AccessDeniedException", "no", unit=unit.key)],
                              coverage=[Coverage(unit.key, "aws.acm", complete=False)])
        return UnitResult(certificates=[Certificate(id=f"{unit.key}#1", source="aws.acm")],
                          coverage=[Coverage(unit.key, "aws.acm", count=1)])

    def finish(self, certificates):
        self.finished_with = len(certificates)
        return []


def test_broken_units_are_recorded_and_the_rest_goes_on():
    collector = FakeCollector(["a", "boom", "x-denied", "b"], listing_errors=[CollectionError("aws.org", "Throttling", "t")])
    inventory = collect(SourceOptions(concurrency=3, quiet=True), NOW, [collector])
    assert sorted(c.id for c in inventory.certificates) == ["a#1", "b#1"]
    codes = sorted(e.code for e in inventory.errors)
    assert codes == ["AccessDeniedException", "InternalError", "Throttling"]
    internal = next(e for e in inventory.errors if e.code == "InternalError")
    assert internal.unit == "boom" and "unexpected answer" in internal.message
    assert {c.unit: c.complete for c in inventory.coverage} == {"a": True, "b": True, "boom": False, "x-denied": False}
    assert not inventory.complete
    assert collector.finished_with == 2


def test_sharded_collection_covers_each_unit_once():
    seen = []
    for index in (1, 2, 3):
        inventory = collect(SourceOptions(shard=(index, 3), quiet=True), NOW, [FakeCollector(KEYS)])
        assert inventory.metadata["shard"] == f"{index}/3"
        seen.extend(c.unit for c in inventory.coverage)
    assert sorted(seen) == sorted(KEYS)


def test_every_shard_keeps_the_errors_met_while_listing_units():
    """Each shard lists every unit itself, so a listing that fails in one shard must be reported
    by that shard, whatever shard the error's own key would fall in (merge keeps one copy)."""
    listing = [CollectionError("azure.keyvault", "ServiceUnavailable", "listing failed",
                               unit=f"azure.keyvault/subscription/{n}") for n in range(6)]
    for index in (1, 2, 3):
        inventory = collect(SourceOptions(shard=(index, 3), quiet=True), NOW, [FakeCollector(KEYS, listing)])
        assert sorted(e.unit for e in inventory.errors) == sorted(e.unit for e in listing)


def test_records_come_out_in_the_saved_order_whatever_order_units_finish_in():
    keys = [f"aws.acm/{100000000000 + a}/eu-west-1-denied" for a in range(12)] + KEYS[:12]
    random.Random(5).shuffle(keys)
    inventory = collect(SourceOptions(concurrency=8, quiet=True), NOW, [FakeCollector(keys)])
    assert [c.unit for c in inventory.coverage] == sorted(keys)
    assert [e.unit for e in inventory.errors] == sorted(k for k in keys if k.endswith("denied"))
    assert [c.id for c in inventory.certificates] == sorted(f"{k}#1" for k in keys if not k.endswith("denied"))
