"""The one id function: deterministic UUIDv5 ids, equal to the standard library's uuid5."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from connectors._sdk.ids import NAMESPACE, resource_id


@given(st.lists(st.one_of(st.text(), st.integers(), st.none()), max_size=4))
def test_resource_id_is_rfc4122_uuid5_of_the_key(key: list[object]) -> None:
    name = "|".join(["ssmix2", "Patient", *("" if k is None else str(k) for k in key)])
    assert resource_id("ssmix2", "Patient", *key) == str(uuid.uuid5(NAMESPACE, name))


def test_ids_differ_by_type_and_key() -> None:
    a = resource_id("ssmix2", "Patient", "1312345670", "9999013")
    assert a == resource_id("ssmix2", "Patient", "1312345670", "9999013")
    assert a != resource_id("ssmix2", "Encounter", "1312345670", "9999013")
    assert a != resource_id("ssmix2", "Patient", "1312345670", "9999014")
    assert uuid.UUID(a).version == 5
