"""Celery adapter: settings, the Celery app, the job store (no torch) and the thin page tasks."""
