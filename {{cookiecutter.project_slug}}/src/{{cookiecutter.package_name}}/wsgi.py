"""Entry point for gunicorn: ``gunicorn {{ cookiecutter.package_name }}.wsgi:app``.

The production configuration: no embedded stand-in for a dependency that is not configured, so a
missing setting stops the start instead of silently taking orders nowhere. Only an explicit
``FLASK_EMBEDDED_DEFAULTS=true`` brings the stand-ins back (a demo container, say). Each process
readies its dependencies before it serves (``wiring.warm``), so that its first requests do not
wait on them.
"""

from . import create_app, wiring

app = create_app(embedded_defaults=False)
wiring.warm(app)
