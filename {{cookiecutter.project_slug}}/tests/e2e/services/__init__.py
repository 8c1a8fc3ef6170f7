"""What the end-to-end layer knows of each dependency of the stack, one module each: how to reach
it from outside (a published port, a client, a query) and the settings that shorten its timeouts.

Each module exports its fixtures in ``__all__``; ``tests/e2e/conftest.py`` takes in whichever
exist. A module's session fixture ``<dependency>_override`` is its part of the compose override
(``stack.Override``): the stack fixture merges them all.
"""
