"""Celery workers: thin tasks (arguments, retries, routing) over functions in ``insights``.

``insights`` never imports this package. The Celery app and its tasks land with the workers issue.
"""
