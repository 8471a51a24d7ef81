"""Scheduled jobs: a registry (name + callable + cron setting), run history, a DB-row lock.

Features register jobs with :func:`ehr_bridge.jobs.registry.register`; ``ehr-bridge serve``
starts an APScheduler ``BackgroundScheduler`` whose job store is a table in our database;
``ehr-bridge jobs list|run|history`` drive and inspect them.
"""
