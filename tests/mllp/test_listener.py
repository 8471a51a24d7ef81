"""MLLP listener end to end: a real TCP server on 127.0.0.1 (asyncio, its own thread), real
clients (sockets), real store (SQLite, or PostgreSQL with EHR_BRIDGE_TEST_DB). Messages are the
real ISO-2022-JP sample bytes of the SS-MIX2 golden cases (tests/connectors/cases/ssmix2)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hl7apy.parser import parse_message as hl7apy_parse

from connectors.mllp import MllpConfig, MllpServer, ServerThread, frame
from ehr_bridge.listen import MllpIngest
from ehr_bridge.store import open_store
from ehr_bridge.sync.loop import open_quarantine

CASES = Path(__file__).resolve().parents[1] / "connectors" / "cases" / "ssmix2"
FACILITY = "1312345670"


def sample(name: str, control_id: str) -> bytes:
    """Case bytes with MSH-10 replaced (the samples share control ids)."""
    data = (CASES / name).read_bytes().rstrip(b"\x1c\r\n")
    head, sep, rest = data.partition(b"\r")
    fields = head.split(b"|")
    fields[9] = control_id.encode()
    return b"|".join(fields) + sep + rest


@pytest.fixture
def listener(db_url: str) -> Iterator[tuple[int, object, MllpIngest]]:
    store = open_store(db_url)
    ingest = MllpIngest(store, MllpConfig.model_validate({"facility_code": FACILITY}))
    server = MllpServer(ingest, "127.0.0.1", 0, max_frame=1 << 20, idle_timeout=30)
    thread = ServerThread(server)
    port = thread.start()
    try:
        yield port, store, ingest
    finally:
        thread.stop()
        store.engine.dispose()


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def send(self, message: bytes) -> None:
        self.sock.sendall(frame(message))

    def ack(self) -> dict[str, str]:
        while b"\x1c\r" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection before answering"
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\x1c\r")
        assert raw.startswith(b"\x0b")
        text = raw[1:].decode("ascii")
        hl7apy_parse(text)  # well-formed HL7 v2 (raises otherwise)
        segs = {s.split("|", 1)[0]: s.split("|") for s in text.split("\r") if s}
        msa, msh = segs["MSA"], segs["MSH"]
        out = {"code": msa[1], "control": msa[2], "text": msa[3] if len(msa) > 3 else "",
               "type": msh[8]}  # fmt: skip
        if "ERR" in segs:
            err = segs["ERR"]
            out.update(err_loc=err[2], err_code=err[3].split("^")[0], err_text=err[8])
        return out

    def roundtrip(self, message: bytes) -> dict[str, str]:
        self.send(message)
        return self.ack()

    def close(self) -> None:
        self.sock.close()


def _patients(store) -> list[dict]:  # noqa: ANN001
    return list(store.iter_all("Patient"))


def test_good_and_broken_messages(listener) -> None:  # noqa: ANN001
    port, store, ingest = listener
    c = Client(port)
    good = [
        ("ADT-00__nho.hl7", "G1", "ACK^A08^ACK"),
        ("OMP-01__nho.hl7", "G2", "ACK^O11^ACK"),
        ("OML-11__nho.hl7", "G3", "ACK^R22^ACK"),
        ("PPR-01__nho.hl7", "G4", "ACK^ZD1^ACK"),
        ("ADT-61__nho.hl7", "G5", "ACK^A60^ACK"),
    ]
    for name, ctrl, mtype in good:
        a = c.roundtrip(sample(name, ctrl))
        assert (a["code"], a["control"], a["type"]) == ("AA", ctrl, mtype), (name, a)
        assert "err_code" not in a
    counts = store.counts()
    assert counts.get("Patient") == 4  # the samples come from four patients
    assert counts.get("MedicationRequest", 0) >= 1
    assert counts.get("Observation", 0) >= 1
    assert counts.get("Condition", 0) >= 1
    assert counts.get("AllergyIntolerance", 0) >= 1
    ids = sorted(p["identifier"][0]["value"] for p in _patients(store))
    assert ids == ["0001000052", "12345678", "1234567890", "9999013"]
    assert all(p["identifier"][0]["system"].endswith(FACILITY) for p in _patients(store))

    broken = [
        ("OMP-01__broken_truncated.hl7", "B1", "AE", "MSH^1^18", "truncated"),
        ("OMP-01__broken_shift_jis.hl7", "B2", "AE", "MSH^1^18", "wrong encoding"),
        ("OMP-01__broken_missing_pid.hl7", "B3", "AE", "PID^1", "missing PID"),
        ("MSG__broken_unknown_type.hl7", "B4", "AR", "MSH^1^9", "unsupported message type"),
    ]
    for name, ctrl, code, loc, words in broken:
        a = c.roundtrip(sample(name, ctrl))
        assert (a["code"], a["control"]) == (code, ctrl), (name, a)
        assert a["err_loc"] == loc and words in a["err_text"], (name, a)
        assert words in a["text"]
    # nothing of the broken messages was stored; the three AE ones are in quarantine
    assert store.counts() == counts
    q = open_quarantine(store, "mllp")
    assert sorted(r["source_ref"] for r in q) == ["mllp:B1", "mllp:B2", "mllp:B3"]
    assert all("PID" not in r["reason"] or "missing" in r["reason"] for r in q)

    # a re-sent stored message is acknowledged again and adds nothing
    a = c.roundtrip(sample("OMP-01__nho.hl7", "G2"))
    assert a["code"] == "AA"
    assert store.counts() == counts
    c.close()
    assert ingest.counts == {"AA": 6, "AE": 3, "AR": 1}


def test_no_patient_data_in_nak(listener) -> None:  # noqa: ANN001
    port, _store, _ = listener
    c = Client(port)
    msg = sample("OMP-01__broken_missing_pid.hl7", "N1")
    a = c.roundtrip(msg)
    assert a["code"] == "AE"
    # the NAK is ASCII and quotes none of the message's non-MSH field values
    values = {v for seg in msg.split(b"\r")[1:] for v in re.split(rb"[|^~&]", seg) if len(v) > 3}
    nak = (a["text"] + a["err_text"]).encode()
    assert not any(v in nak for v in values)
    c.close()


def test_disconnect_mid_frame_then_next_client(listener) -> None:  # noqa: ANN001
    port, store, ingest = listener
    msg = sample("OMP-01__nho.hl7", "D1")
    c1 = Client(port)
    c1.sock.sendall(b"\x0b" + msg[: len(msg) // 2])  # half a frame, then gone
    c1.close()
    time.sleep(0.3)
    assert store.counts().get("MedicationRequest", 0) == 0  # nothing stored from a partial frame
    c2 = Client(port)
    a = c2.roundtrip(sample("OMP-01__nho.hl7", "D2"))
    assert (a["code"], a["control"]) == ("AA", "D2")
    assert store.counts().get("MedicationRequest", 0) >= 1
    c2.close()
    assert ingest.counts["AA"] == 1


def test_malformed_frames_on_one_connection(listener) -> None:  # noqa: ANN001
    port, store, _ = listener
    c = Client(port)
    # junk outside frames and a frame without MSH: the connection stays usable
    c.sock.sendall(b"garbage before any frame\r")
    a = c.roundtrip(b"NOT AN HL7 MESSAGE")
    assert a["code"] == "AR" and a["err_loc"] == "MSH^1" and a["control"] == ""
    # a frame cut short by a new start block: AR for the cut one (its MSH is readable), then
    # the complete one is processed
    first = sample("OMP-01__nho.hl7", "C1")
    c.sock.sendall(b"\x0b" + first[:300] + frame(sample("ADT-00__nho.hl7", "C2")))
    a1, a2 = c.ack(), c.ack()
    assert (a1["code"], a1["control"]) == ("AR", "C1") and "interrupted" in a1["err_text"]
    assert (a2["code"], a2["control"]) == ("AA", "C2")
    # two frames in one TCP write, and one frame split over many writes
    c.sock.sendall(frame(sample("PPR-01__nho.hl7", "C3")) + frame(sample("ADT-61__nho.hl7", "C4")))
    assert [c.ack()["code"], c.ack()["code"]] == ["AA", "AA"]
    data = frame(sample("OML-11__nho.hl7", "C5"))
    for i in range(0, len(data), 7):
        c.sock.sendall(data[i : i + 7])
    assert c.ack()["code"] == "AA"
    assert store.counts().get("MedicationRequest", 0) == 0
    assert store.counts().get("Observation", 0) >= 1
    c.close()


def test_concurrent_clients(listener) -> None:  # noqa: ANN001
    port, store, ingest = listener
    clients = [Client(port) for _ in range(4)]
    names = ["ADT-00__nho.hl7", "OMP-01__nho.hl7", "OML-11__nho.hl7", "PPR-01__nho.hl7"]
    for i, (c, n) in enumerate(zip(clients, names, strict=True)):
        c.send(sample(n, f"P{i}"))
    for i, c in enumerate(clients):
        a = c.ack()
        assert (a["code"], a["control"]) == ("AA", f"P{i}")
        c.close()
    assert ingest.counts["AA"] == 4


def test_store_failure_is_a_nak_not_an_ack(db_url: str) -> None:
    store = open_store(db_url)
    ingest = MllpIngest(store)

    def broken_flush(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("disk full")

    ingest.loop._flush = broken_flush  # type: ignore[method-assign]
    ack = ingest(sample("OMP-01__nho.hl7", "F1")).decode()
    assert "MSA|AE|F1" in ack and "207^" in ack and "disk full" not in ack
    assert store.counts().get("MedicationRequest", 0) == 0


def _encounters(store, patient_value: str) -> list[dict]:  # noqa: ANN001
    pat = next(p for p in _patients(store) if p["identifier"][0]["value"] == patient_value)
    ref = f"Patient/{pat['id']}"
    return [e for e in store.iter_all("Encounter") if e["subject"]["reference"] == ref]


def test_admission_transfer_discharge_fold_into_one_encounter(listener) -> None:  # noqa: ANN001
    """Real NHO samples: the discharge (A03) has no PV1-19 and no PV1-44, so it can only close
    the stay the admission (A01) opened — one Encounter, as in storage."""
    port, store, ingest = listener
    c = Client(port)
    assert c.roundtrip(sample("ADT-22__nho.hl7", "V1"))["code"] == "AA"
    (enc,) = _encounters(store, "9999013")
    assert (enc["status"], enc["class"]["code"]) == ("in-progress", "IMP")
    assert enc["period"]["start"].startswith("2011-11-20T16:00")
    assert "end" not in enc["period"]
    assert c.roundtrip(sample("ADT-42__nho.hl7", "V2"))["code"] == "AA"
    assert c.roundtrip(sample("ADT-52__nho.hl7", "V3"))["code"] == "AA"
    (enc2,) = _encounters(store, "9999013")
    assert enc2["id"] == enc["id"]
    assert enc2["status"] == "finished"
    assert enc2["period"]["start"].startswith("2011-11-20T16:00")
    assert enc2["period"]["end"].startswith("2011-12-20T12:00")
    assert enc2["period"]["end"].endswith("+09:00")
    # a re-sent discharge changes nothing and adds nothing
    counts = store.counts()
    assert c.roundtrip(sample("ADT-52__nho.hl7", "V3"))["code"] == "AA"
    assert store.counts() == counts
    assert [e["meta"]["versionId"] for e in _encounters(store, "9999013")] == [
        enc2["meta"]["versionId"]
    ]
    # a visit message that cannot be converted is refused and not kept
    a = c.roundtrip(sample("ADT-22__broken_malformed_date.hl7", "V4"))
    assert a["code"] == "AE"
    assert _encounters(store, "9999013")[0]["period"] == enc2["period"]
    c.close()


def _administrations(store) -> list[dict]:  # noqa: ANN001
    return sorted(store.iter_all("MedicationAdministration"), key=lambda r: r["effectiveDateTime"])


def test_later_administration_of_the_same_order_keeps_the_earlier_one(listener) -> None:  # noqa: ANN001
    """Real NHO RAS^O17 (OMP-11): an order is administered many times, one notice each. The
    next day's notice for the same order (ORC-2) is a new record, not a replacement; a re-sent
    notice of the same administration replaces it (nothing added)."""
    port, store, _ = listener
    c = Client(port)
    day1 = sample("OMP-11__nho.hl7", "A1")
    day2 = sample("OMP-11__nho.hl7", "A2").replace(b"|201107010830|201107010830|",
                                                     b"|201107020830|201107020830|")  # fmt: skip
    assert c.roundtrip(day1)["code"] == "AA"
    assert len(_administrations(store)) == 2  # two RXA (two drugs) at 2011-07-01 08:30
    assert c.roundtrip(day2)["code"] == "AA"
    got = _administrations(store)
    assert [a["effectiveDateTime"][:16] for a in got] == ["2011-07-01T08:30"] * 2 + [
        "2011-07-02T08:30"
    ] * 2
    counts = store.counts()
    assert c.roundtrip(sample("OMP-11__nho.hl7", "A3"))["code"] == "AA"  # day 1 again
    assert store.counts() == counts
    c.close()
