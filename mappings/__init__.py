from mappings import _native

_native.activate()  # the compiled hot modules, when built and current (mappings/_native.py)
