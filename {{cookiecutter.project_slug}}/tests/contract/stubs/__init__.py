"""In-process stand-ins for the service's dependencies, one module per dependency (gathered by the
layer's conftest): each exports a ``<dependency>_settings`` fixture that points the app at its stub."""
