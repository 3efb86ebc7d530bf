"""WSGI entry point: ``gunicorn omnitron_mock.wsgi:application``.

Configured by ``OMNITRON_MOCK_*`` variables alone. With several worker
processes, set ``OMNITRON_MOCK_DB`` so that they share one SQLite state.
"""

from omnitron_mock.app import create_app_from_env

application = create_app_from_env()
