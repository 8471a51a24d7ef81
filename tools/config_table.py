"""Print the README's configuration table from the Settings model (run after adding a field)."""

from __future__ import annotations

from ehr_bridge.config import Settings


def table() -> str:
    rows = ["| setting | env variable | default | what it does |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "(secret)" if hasattr(field.default, "get_secret_value") else field.default
        rows.append(f"| `{name}` | `EHR_BRIDGE_{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
