"""Tests start real servers through the product's own helper."""

from ehr_bridge.api.background import free_port, serve_in_thread

__all__ = ["free_port", "serve_in_thread"]
