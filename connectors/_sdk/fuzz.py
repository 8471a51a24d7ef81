"""Robustness harness for connectors: converts mutated copies of the golden cases.

Real feeds carry what no sample shows: empty or extra components, repeated segments, a missing
segment, values of the wrong kind in a field. A converter must answer each such message with
either a ``RecordError`` (the record is quarantined, naming the element) or resources that pass
validation — never another exception (a converter bug quarantines the record as an "internal
error") and never a resource the store cannot write (which used to fail the whole batch: a
20-digit dispense amount). One line in a test module::

    test_robust = robustness_test(lambda: MyConnector(...), CASES_DIR)

Mutations are deterministic (seeded); ``mutate`` is a function (bytes, Random) → bytes or None
(skip), :func:`hl7v2_mutant` by default (HL7 v2 text in ISO-2022-JP, UTF-8 or ASCII).
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors._sdk.errors import RecordError
from connectors._sdk.fhir_models import validate_resource
from connectors._sdk.records import Conversion, SourceRecord
from connectors._sdk.testing import case_files, record_for

# values seen misplaced in real feeds, or at the edge of what a field's type allows
ODD_VALUES = ("", " ", "^", "~", "&", "^^", "~~", "\\F\\", "abc", "0", "-3", "12.5", "1,000",
              "<5", ">=10", "9" * 20, "1e400", "2026", "20260231", "202601011260", "20260101",
              "ｱｲｳ", "山田", "NM", "ST", "CWE", "TX", "I", "P", "D", "C", "X^Y^Z^A^B^C^D^E")  # fmt: skip


def _decode(data: bytes) -> tuple[str, str] | None:
    for codec in ("iso2022_jp", "utf-8"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return None


def hl7v2_mutant(data: bytes, rng: random.Random) -> bytes | None:
    """One to three edits of an HL7 v2 message (not MSH): a segment deleted or repeated, a
    field or one component replaced by an odd value. None when the bytes are not HL7 text."""
    decoded = _decode(data)
    if decoded is None or not decoded[0].lstrip("\x0b").startswith("MSH"):
        return None
    text, codec = decoded
    segs = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
            if s.strip() and not s.startswith("\x1c")]  # fmt: skip
    if len(segs) < 2:
        return None
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(1, len(segs))
        op = rng.random()
        if op < 0.1 and len(segs) > 2:
            del segs[i]
            continue
        if op < 0.2:
            segs.insert(i, segs[i])
            continue
        fields = segs[i].split("|")
        j = rng.randrange(1, len(fields) + 2)
        fields.extend([""] * (j + 1 - len(fields)))
        if op < 0.6:
            fields[j] = rng.choice(ODD_VALUES)
        else:
            comps = fields[j].split("^")
            k = rng.randrange(len(comps) + 1)
            comps.extend([""] * (k + 1 - len(comps)))
            comps[k] = rng.choice(ODD_VALUES).replace("^", "")
            fields[j] = "^".join(comps)
        segs[i] = "|".join(fields)
    try:
        return ("\r".join(segs) + "\r").encode(codec)
    except UnicodeEncodeError:
        return None


def _message_of(payload: Any) -> bytes | str | None:
    """The message in a record's payload: the payload itself, or the last item of a tuple
    payload (e.g. the SS-MIX2 connector's (patient id, kind, bytes))."""
    if isinstance(payload, tuple) and payload:
        payload = payload[-1]
    return payload if isinstance(payload, bytes | str) else None


def _with_message(payload: Any, message: bytes | str) -> Any:
    return (*payload[:-1], message) if isinstance(payload, tuple) else message


def robustness_problems(
    connector: Any,
    case: Path,
    *,
    mutants: int = 15,
    seed: int = 0,
    mutate: Callable[[bytes, random.Random], bytes | None] = hl7v2_mutant,
) -> list[str]:
    """Problems of ``mutants`` mutated copies of one case ([] when every one is handled)."""
    base = record_for(connector, case)
    data = _message_of(base.payload)
    if data is None:
        return [f"{case.name}: no message bytes or text in the record's payload to mutate"]
    rng = random.Random(f"{seed}:{case.name}")
    problems: list[str] = []
    for n in range(mutants):
        mutated = mutate(data.encode("utf-8") if isinstance(data, str) else data, rng)
        if mutated is None:
            continue
        new: bytes | str = mutated.decode("utf-8") if isinstance(data, str) else mutated
        rec = SourceRecord(base.key, _with_message(base.payload, new), base.source_ref,
                           base.cursor, "")  # fmt: skip
        try:
            conv: Conversion = connector.convert(rec)
        except RecordError:
            continue
        except Exception as exc:  # noqa: BLE001 - what this harness looks for
            where = traceback.extract_tb(exc.__traceback__)[-1]
            problems.append(f"mutant {n}: {type(exc).__name__} at {where.filename}:{where.lineno}")
            continue
        for res in [*conv.resources, *conv.if_absent]:
            invalid = validate_resource(res)
            if invalid:
                problems.append(f"mutant {n}: invalid {res.get('resourceType')}: {invalid[0]}")
    return problems


def robustness_test(
    factory: Callable[[], Any], cases_dir: Path, *, mutants: int = 15, seed: int = 0,
    mutate: Callable[[bytes, random.Random], bytes | None] = hl7v2_mutant,
) -> Callable[..., None]:  # fmt: skip
    """A pytest test function parametrized over the cases in ``cases_dir``."""
    import pytest

    cases = case_files(cases_dir)

    @pytest.mark.parametrize("case", cases, ids=[c.name for c in cases])
    def test_robust_case(case: Path) -> None:
        problems = robustness_problems(factory(), case, mutants=mutants, seed=seed, mutate=mutate)
        assert not problems, "\n".join(problems[:20])

    return test_robust_case
