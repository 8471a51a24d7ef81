"""Parameters with the same type and path (``subject`` and ``patient`` on Observation …) share
one set of index rows: written once, found by either name, in searches, ``_include`` and
``_revinclude``; rows an older version wrote under the second name change nothing."""

from __future__ import annotations

from sqlalchemy import text

from ehr_bridge.store import open_store
from ehr_bridge.store.indexing import index_rows
from ehr_bridge.store.search_params import params_for


def _patient(pid: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "gender": "female"}


def _obs(oid: str, pid: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "urn:test", "code": "x"}]},
        "subject": {"reference": f"Patient/{pid}"},
    }


def test_subject_shares_the_patient_rows() -> None:
    sp = params_for("Observation")
    assert sp["subject"].index_name == "patient" and sp["patient"].index_name == "patient"
    refs = index_rows(_obs("o1", "p1"), 7)["reference"]
    assert [(r[0], r[2], r[3], r[4]) for r in refs] == [(7, "patient", "Patient", "p1")]
    # a parameter without a twin keeps its own rows
    assert params_for("DiagnosticReport")["result"].index_name == "result"


def test_either_name_finds_the_rows_and_old_rows_do_not_double(db_url: str) -> None:
    store = open_store(db_url)
    store.upsert_many([_patient("p1"), _patient("p2"), _obs("o1", "p1"), _obs("o2", "p1"),
                       _obs("o3", "p2")])  # fmt: skip
    for name in ("patient", "subject"):
        got = store.search("Observation", [(name, "Patient/p1")])
        assert sorted(m["id"] for m in got.matches) == ["o1", "o2"], name
        assert got.total == 2
    inc = store.search("Observation", [("code", "x"), ("_include", "Observation:subject")])
    assert sorted(m["id"] for m in inc.matches) == ["o1", "o2", "o3"]
    assert sorted(r["id"] for r in inc.included) == ["p1", "p2"]
    rev = store.search("Patient", [("_id", "p2"), ("_revinclude", "Observation:subject")])
    assert [r["id"] for r in rev.included] == ["o3"]

    # a store written before the rule also holds 'subject' rows: still one match each
    with store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fhir_idx_reference (res_pk, resource_type, param, target_type, "
                "target_id) SELECT res_pk, resource_type, 'subject', target_type, target_id "
                "FROM fhir_idx_reference WHERE param = 'patient'"
            )
        )
    got = store.search("Observation", [("subject", "Patient/p1"), ("_total", "accurate")])
    assert sorted(m["id"] for m in got.matches) == ["o1", "o2"] and got.total == 2
