"""Entry point for gunicorn: ``gunicorn {{ cookiecutter.package_name }}.wsgi:app``.

The production configuration: no embedded stand-in for a dependency that is not configured."""

from . import create_app

app = create_app({"EMBEDDED_DEFAULTS": False})
