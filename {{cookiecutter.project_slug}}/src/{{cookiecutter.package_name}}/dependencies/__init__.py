"""The service's dependencies, one module each. The app factory (``DEPENDENCIES`` in the package's
``__init__``) calls the ``init_app`` of each one the service has; the database code
(``db.DATABASE_SERVERS``) names the database server it may use besides its embedded SQLite file."""
