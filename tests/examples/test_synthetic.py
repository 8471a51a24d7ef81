"""The committed synthetic data is exactly what the generator produces, and all of it is valid FHIR."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from connectors._sdk.fhir_models import validate_resource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMITTED = EXAMPLES / "synthetic"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_synthetic", EXAMPLES / "generate_synthetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerated_output_is_byte_identical(tmp_path: Path) -> None:
    gen = _generator()
    counts = gen.generate(tmp_path, gen.DEFAULT_PATIENTS, gen.DEFAULT_SEED)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in COMMITTED.glob("*.ndjson"))
    assert names == sorted(f"{t}.ndjson" for t in gen.TYPES)
    for name in names:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    assert counts["Patient"] == gen.DEFAULT_PATIENTS
    assert sum(counts.values()) > 15 * gen.DEFAULT_PATIENTS


def test_every_committed_resource_validates() -> None:
    seen: set[tuple[str, str]] = set()
    for path in sorted(COMMITTED.glob("*.ndjson")):
        for lineno, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            resource = json.loads(line)
            assert resource["resourceType"] == path.stem
            assert validate_resource(resource) == [], f"{path.name}:{lineno}"
            key = (resource["resourceType"], resource["id"])
            assert key not in seen, f"duplicate id {key}"
            seen.add(key)
    assert len(seen) > 4000


def test_jp_core_shape_of_patients_and_labs() -> None:
    patients = [
        json.loads(x) for x in (COMMITTED / "Patient.ndjson").read_text("utf-8").splitlines()
    ]
    numbers = [p["identifier"][0]["value"] for p in patients]
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 8 and n.isdigit() for n in numbers)
    for p in patients:
        reps = [n["extension"][0]["valueCode"] for n in p["name"]]
        assert reps == ["IDE", "SYL"]
        assert p["meta"]["profile"] == ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]
    systems = {
        json.loads(x)["code"]["coding"][0]["system"]
        for x in (COMMITTED / "Observation.ndjson").read_text("utf-8").splitlines()
    }
    assert systems == {
        "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
        "urn:oid:1.2.392.200119.4.504",
    }


def test_patient_slices_are_independent(tmp_path: Path) -> None:
    """Patient n's resources do not depend on which other patients are generated (sharding)."""
    gen = _generator()
    gen.generate(tmp_path / "a", 5, gen.DEFAULT_SEED, start=10)
    whole = (COMMITTED / "Patient.ndjson").read_text("utf-8").splitlines()
    assert (tmp_path / "a" / "Patient.ndjson").read_text("utf-8").splitlines() == whole[10:15]
