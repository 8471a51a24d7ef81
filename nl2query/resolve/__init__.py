"""Term linking (terms → codes) and time expressions (→ JST date windows)."""
