"""The service's SQLite file lives on a volume of its own: a service container made anew (a new
image, a new release) finds every order the old one stored."""

from __future__ import annotations

from tests.e2e.client import Service
from tests.e2e.stack import APP, Stack


def test_a_recreated_service_keeps_its_orders(stack: Stack, service: Service) -> None:
    created = service.create(key="e2e-kept-on-the-volume")
    assert created.status == 201, created

    # A new container, as a new release gets: its volumes kept.
    ran = stack.cli("up", "--wait", "--no-deps", "--force-recreate", APP)
    assert ran.returncode == 0, ran.stderr

    assert service.wait_ready().status == 200
    read = service.get(f"/orders/{created.body['id']}")
    assert (read.status, read.body) == (200, created.body)
