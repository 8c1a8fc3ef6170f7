"""What the end-to-end layer knows of each dependency of the stack, one module each: how to reach
it from outside (a published port, a client, a query) and the settings that shorten its timeouts
(its ``<service>_override``, its part of the compose override that ``tests/e2e/conftest.py``
merges).
"""
