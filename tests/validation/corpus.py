"""Valid resources and systematic mutations of them, for the differential tests."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors._sdk.records import Conversion
from connectors._sdk.testing import case_files, convert_case
from connectors.ssmix2 import SSMix2Config, SSMix2Connector

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "examples" / "synthetic"
SSMIX2_CASES = ROOT / "tests" / "connectors" / "cases" / "ssmix2"

MARK = "PHIMARK"  # in mutated values; must never appear in a problem message

Path_ = tuple[str | int, ...]


def synthetic_resources() -> list[dict[str, Any]]:
    out = []
    for f in sorted(SYNTHETIC.glob("*.ndjson")):
        out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line]
    return out


def ssmix2_resources() -> list[dict[str, Any]]:
    """Everything the SS-MIX2 connector makes of the bundled test messages."""
    conn = SSMix2Connector(SSMix2Config(root=".", facility_code="1312345670"))  # type: ignore[call-arg]
    out: list[dict[str, Any]] = []
    for case in case_files(SSMIX2_CASES):
        conv = convert_case(conn, case)
        if isinstance(conv, Conversion):
            out += [*conv.resources, *conv.if_absent]
    return out


def one_per_structure(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One resource per distinct key structure (keeps the mutation corpus small and varied)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in resources:
        seen.setdefault(_skeleton(r), r)
    return list(seen.values())


def _skeleton(x: Any) -> str:
    if isinstance(x, dict):
        return "{" + ",".join(f"{k}:{_skeleton(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ",".join(sorted({_skeleton(v) for v in x})) + "]"
    return type(x).__name__


def nodes(x: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below the root."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield (*path, k), v
            yield from nodes(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield (*path, i), v
            yield from nodes(v, (*path, i))


def _set(r: dict[str, Any], path: Path_, value: Any) -> None:
    parent: Any = r
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value


def _delete(r: dict[str, Any], path: Path_) -> None:
    parent: Any = r
    for p in path[:-1]:
        parent = parent[p]
    del parent[path[-1]]


def _parent(r: dict[str, Any], path: Path_) -> Any:
    parent: Any = r
    for p in path[:-1]:
        parent = parent[p]
    return parent


# Replacement values for a leaf: bad and borderline forms of every FHIR primitive.
LEAF_VALUES: list[Any] = [
    "",
    " ",
    "   ",
    "\t",
    "\u3000",
    "\x1c",
    "\x0b",
    f" {MARK}",
    f"{MARK} ",
    f"{MARK}  x",
    f"{MARK}\tx",
    f"{MARK}\n",
    "a_b",
    "ü",
    "x" * 300,
    f"{MARK}/é",
    "2020",
    "2020-13",
    "2020-02",
    "2020-02-29",
    "2021-02-29",
    "2020-04-31",
    "2020-12-31",
    "0000-01-01",
    "2020-1-1",
    "20200101",
    "2020-01-01T10:00:00Z",
    "2020-01-01T10:00:00",
    "2020-01-01T10:00Z",
    "2020-01-01T24:00:00Z",
    "2020-01-01T10:00:60Z",
    "2016-12-31T23:59:60Z",
    "2020-01-01T10:00:00.1234567+09:00",
    "2020-01-01T10:00:00+14:00",
    "2020-01-01T10:00:00+15:00",
    "2020-02-30T10:00:00Z",
    "10:00:00",
    "25:00:00",
    "10:00:00.5",
    "10:00",
    "urn:oid:1.2.392.100495",
    "urn:oid:1.2.03",
    "urn:oid:3.1",
    "urn:uuid:c757873d-ec9a-4326-a141-556f43239520",
    "http://x y",
    "QUJD",
    "QQ",
    "!!!!",
    "12",
    "-5",
    "+5",
    "01",
    "1.50",
    "1e5",
    "0.0",
    "true",
    "NaN",
    0,
    1,
    -1,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    10**20,
    1.5,
    1.0,
    -0.0,
    1e300,
    float("inf"),
    True,
    False,
    None,
]


def mutations(r: dict[str, Any], rng: random.Random, per_resource: int) -> list[dict[str, Any]]:
    """``per_resource`` mutants of ``r``: leaf values replaced, kinds swapped, elements
    removed/added/wrapped/unwrapped, choice types doubled, empty objects and arrays."""
    ops: list[tuple[str, Path_, Any]] = []
    for path, value in nodes(r):
        if path[-1] == "resourceType":
            continue
        if not isinstance(value, (dict, list)):
            ops += [("set", path, v) for v in LEAF_VALUES]
        ops += [
            ("set", path, {}),
            ("set", path, []),
            ("set", path, [value]),
            ("delete", path, None),
        ]
        if isinstance(value, list) and value:
            ops += [("set", path, value[0]), ("set", path, [])]
        if isinstance(value, dict):
            ops += [("add", (*path, "unknownElement"), "x"), ("add", (*path, "_id"), {}),
                    ("add", (*path, "extension"), [{}]), ("add", (*path, "id"), f"{MARK} x")]  # fmt: skip
        if isinstance(path[-1], str) and path[-1][:1].islower():
            name = path[-1]
            for prefix in ("value", "effective", "onset", "abatement", "multipleBirth",
                           "deceased", "occurrence", "medication", "performed"):  # fmt: skip
                if name.startswith(prefix) and name != prefix:
                    ops += [("add", (*path[:-1], prefix + "String"), "x"),
                            ("add", (*path[:-1], prefix + "Boolean"), True),
                            ("add", (*path[:-1], prefix + "DateTime"), "2020"),
                            ("add", (*path[:-1], prefix), "x")]  # fmt: skip
            ops.append(("add", (*path[:-1], "_" + name), {"extension": []}))
            ops.append(("add", (*path[:-1], "_" + name), {"id": "a"}))
    ops += [("add", ("unknownElement",), 1), ("add", ("resource_type",), r["resourceType"]),
            ("add", ("contained",), [{"resourceType": "Nope"}]),
            ("add", ("contained",), [{"resourceType": "Patient", "id": "p", "gender": 1}]),
            ("add", ("contained",), [{"resourceType": "Patient", "id": "p", "active": True}])]  # fmt: skip
    chosen = ops if len(ops) <= per_resource else rng.sample(ops, per_resource)
    out = []
    for op, path, value in chosen:
        m = copy.deepcopy(r)
        if op == "delete":
            _delete(m, path)
        elif op == "add" and not isinstance(_parent(m, path), dict):
            continue
        else:
            _set(m, path, copy.deepcopy(value))
        out.append(m)
    return out
