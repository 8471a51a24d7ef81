"""Connector sync: the loop (discover → convert → validate → upsert → cursor → quarantine) and
its tables (record state, cursors, quarantine)."""
