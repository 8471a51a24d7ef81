"""`total`: by default only where it is free (the last page, `_count=0`); `_total=estimate` on
every page (derived from the last page, counted up to the cap otherwise)."""

from __future__ import annotations

from ehr_bridge.store import open_store


def _obs(i: int, code: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"coding": [{"system": "urn:test", "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": float(i), "unit": "mg"},
    }


def test_total_on_each_page_and_past_the_end(db_url: str) -> None:
    store = open_store(db_url)
    store.upsert_many([_obs(i, "a") for i in range(5)] + [_obs(10 + i, "b") for i in range(3)])
    seen = []
    for offset in (0, 2, 4):
        result = store.search(
            "Observation",
            [
                ("code", "urn:test|a"),
                ("_count", "2"),
                ("_offset", str(offset)),
                ("_total", "estimate"),
            ],
        )
        assert result.total == 5
        seen += [m["id"] for m in result.matches]
    assert seen == ["o0", "o1", "o2", "o3", "o4"]
    past = store.search(
        "Observation", [("code", "a"), ("_count", "2"), ("_offset", "9"), ("_total", "estimate")]
    )
    assert past.matches == [] and past.total == 5
    assert store.search("Observation", [("code", "a"), ("_count", "0")]).total == 5
    probe = store.search(
        "Observation", [("patient", "Patient/p1"), ("value-quantity", "ge3"), ("code:not", "b")]
    )
    assert [m["id"] for m in probe.matches] == ["o3", "o4"] and probe.total == 2
    both = store.search("Observation", [("code", "a,b"), ("value-quantity", "lt1,ge12")])
    assert sorted(m["id"] for m in both.matches) == ["o0", "o12"]


def test_default_total_only_where_it_is_free(db_url: str) -> None:
    store = open_store(db_url)
    store.upsert_many([_obs(i, "a") for i in range(5)])
    pages = [
        store.search("Observation", [("code", "a"), ("_count", "2"), ("_offset", str(o))])
        for o in (0, 2, 4)
    ]
    assert [p.total for p in pages] == [None, None, 5]  # counted only on the last page
    assert [len(p.matches) for p in pages] == [2, 2, 1] and pages[0].more and not pages[2].more
    assert store.search("Observation", [("code", "a")]).total == 5  # one page
    assert store.search("Observation", [("code", "a"), ("_count", "0")]).total == 5
    assert store.search("Observation", [("code", "a"), ("_total", "none")]).total is None
    assert (
        store.search("Observation", [("code", "a"), ("_count", "2"), ("_total", "accurate")]).total
        == 5
    )


def test_repeated_coding_counts_once(db_url: str) -> None:
    """The count without DISTINCT relies on one index row per (resource, param, system, code)."""
    store = open_store(db_url)
    coding = {"system": "urn:test", "code": "dup"}
    twice = {
        **_obs(1, "dup"),
        "code": {"coding": [coding, dict(coding)]},
        "component": [{"code": {"coding": [coding]}}, {"code": {"coding": [dict(coding)]}}],
    }
    store.upsert_many([twice, {**_obs(2, "other"), "subject": {"reference": "Patient/p2"}}])
    for params in (
        [("code", "urn:test|dup")],
        [("component-code", "urn:test|dup"), ("patient", "Patient/p1")],
        [("code", "urn:test|dup"), ("value-quantity", "ge0")],
    ):
        for total in ("accurate", "estimate"):
            result = store.search("Observation", [*params, ("_total", total)])
            assert result.total == 1, (params, total)
            assert [m["id"] for m in result.matches] == ["o1"]
