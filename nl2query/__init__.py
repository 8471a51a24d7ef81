import mappings  # noqa: F401 - first: activates the native build (mappings/_native.py)
