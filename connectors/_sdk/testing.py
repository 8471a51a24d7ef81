"""Golden-case test harness for connectors.

An integrator adds ``cases/<name>.<ext>`` (source bytes) and ``cases/<name>.expected.json`` and
one line in a test module::

    test_golden = golden_test(lambda: MyConnector(MyConnector.Config(...)), CASES_DIR)

For each case it checks: golden equality (canonical JSON, ``ensure_ascii=False``, unified diff),
FHIR model validity, invariants (unique ids, references resolve inside the case output —
except those to the types named in ``cross_record_refs``, which other records produce — no
empty resources), determinism (two conversions → identical bytes) and ``unconsumed`` ⊆
``allowed_unconsumed``. ``EHR_BRIDGE_UPDATE_GOLDEN=1 pytest ...`` (re)writes the expected
files — review the diff before committing them.

A connector may define ``case_record(path) -> SourceRecord`` to turn a case file into a record;
otherwise the record is ``SourceRecord(key=<name>, payload=<bytes>, source_ref=<name>)``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from connectors._sdk.canonical import canonical_json
from connectors._sdk.errors import RecordError
from connectors._sdk.fhir_models import validate_resource
from connectors._sdk.records import Conversion, SourceRecord

EXPECTED_SUFFIX = ".expected.json"


def case_files(cases_dir: Path) -> list[Path]:
    """Input files of the golden cases in ``cases_dir`` (not the expected files or docs)."""
    return sorted(
        p
        for p in Path(cases_dir).iterdir()
        if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX) and p.suffix.lower() != ".md"
    )


def expected_path(case: Path) -> Path:
    return case.with_name(case.stem + EXPECTED_SUFFIX)


def record_for(connector: Any, case: Path) -> SourceRecord:
    maker = getattr(connector, "case_record", None)
    if maker is not None:
        return maker(case)  # type: ignore[no-any-return]
    return SourceRecord(key=case.stem, payload=case.read_bytes(), source_ref=case.name)


def conversion_document(conv: Conversion | RecordError) -> dict[str, Any]:
    """The JSON document a case's expected file holds."""
    if isinstance(conv, RecordError):
        return {"record_error": {"location": conv.location, "reason": conv.reason}}
    return {
        "resources": conv.resources,
        "if_absent": conv.if_absent,
        "issues": [
            {"severity": i.severity, "location": i.location, "reason": i.reason}
            for i in conv.issues
        ],
        "unconsumed": sorted(conv.unconsumed),
    }


def convert_case(connector: Any, case: Path) -> Conversion | RecordError:
    try:
        return connector.convert(record_for(connector, case))  # type: ignore[no-any-return]
    except RecordError as exc:
        return exc


def invariant_problems(conv: Conversion, cross_record_refs: Iterable[str] = ()) -> list[str]:
    """Problems of one conversion; a reference to a type in ``cross_record_refs`` (e.g. an
    administration's MedicationRequest, made from the order's own record) need not resolve
    inside the conversion."""
    problems: list[str] = []
    external = set(cross_record_refs)
    everything = [*conv.resources, *conv.if_absent]
    keys = [(r.get("resourceType"), r.get("id")) for r in conv.resources]
    if len(keys) != len(set(keys)):
        problems.append("duplicate resource ids")
    known = {f"{t}/{i}" for t, i in ((r.get("resourceType"), r.get("id")) for r in everything)}
    for r in everything:
        if not r.get("id"):
            problems.append(f"{r.get('resourceType')}: no id")
        if len([k for k in r if k not in ("resourceType", "id", "meta")]) == 0:
            problems.append(f"{r.get('resourceType')}/{r.get('id')}: empty resource")
        contained = {f"#{c.get('id')}" for c in r.get("contained", [])}
        for ref in _references(r):
            if ref.startswith("#"):
                if ref not in contained:
                    problems.append(f"{r['resourceType']}: contained reference {ref} unresolved")
            elif ref not in known and ref.split("/")[0] not in external:
                problems.append(f"{r['resourceType']}: reference {ref} does not resolve")
        for p in validate_resource(r):
            problems.append(f"invalid: {p}")
    return problems


def _references(obj: Any) -> Iterable[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(obj, list):
        for x in obj:
            yield from _references(x)


def check_case(
    connector: Any,
    case: Path,
    allowed_unconsumed: Iterable[str] | None = None,
    cross_record_refs: Iterable[str] = (),
) -> list[str]:
    """Every problem of one golden case ([] when it passes)."""
    first = convert_case(connector, case)
    second = convert_case(connector, case)
    doc = canonical_json(conversion_document(first), indent=1)
    problems: list[str] = []
    if doc != canonical_json(conversion_document(second), indent=1):
        problems.append("not deterministic: two conversions differ")
    exp = expected_path(case)
    if os.environ.get("EHR_BRIDGE_UPDATE_GOLDEN") == "1":
        exp.write_text(doc, encoding="utf-8")
    if not exp.is_file():
        problems.append(f"no expected file {exp.name} (EHR_BRIDGE_UPDATE_GOLDEN=1 writes it)")
    else:
        want = exp.read_text(encoding="utf-8")
        if want != doc:
            diff = difflib.unified_diff(
                want.splitlines(), doc.splitlines(), "expected", "actual", lineterm="", n=2
            )
            problems.append("golden mismatch:\n" + "\n".join(list(diff)[:80]))
    if isinstance(first, Conversion):
        problems.extend(invariant_problems(first, cross_record_refs))
        if allowed_unconsumed is not None:
            extra = set(first.unconsumed) - set(allowed_unconsumed)
            if extra:
                problems.append(f"unconsumed elements not allowed: {sorted(extra)}")
    return problems


def golden_test(
    factory: Callable[[], Any],
    cases_dir: Path,
    allowed_unconsumed: Iterable[str] | None = None,
    cross_record_refs: Iterable[str] = (),
) -> Callable[..., None]:
    """A pytest test function parametrized over the cases in ``cases_dir``."""
    import pytest

    cases = case_files(cases_dir)
    allowed = None if allowed_unconsumed is None else set(allowed_unconsumed)

    @pytest.mark.parametrize("case", cases, ids=[c.name for c in cases])
    def test_golden_case(case: Path) -> None:
        problems = check_case(factory(), case, allowed, cross_record_refs)
        assert not problems, "\n".join(problems)

    return test_golden_case
