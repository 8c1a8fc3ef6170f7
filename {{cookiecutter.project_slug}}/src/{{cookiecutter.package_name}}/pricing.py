"""Client of the upstream pricing service.

Every call is bounded: a connect and a read timeout per attempt, a few retries with exponential
backoff for idempotent GETs (urllib3's ``Retry``), and a circuit breaker (pybreaker) that stops
calling a failing upstream for a while. Failures reach the client as problems, never as a hang
or a 500: a timeout is 504, a broken or failing upstream 502, an open circuit 503.
The worst case of one call is about ``(retries + 1) * (connect + read timeout)`` plus the backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

import pybreaker
import requests
from flask import Flask, current_app
from pydantic import BaseModel, Field, StrictStr
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from .problems import Problem

EXTENSION = "{{ cookiecutter.package_name }}.pricing"
RETRIED_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Price:
    sku: str
    unit_price: Decimal
    currency: str


class PriceAnswer(BaseModel):
    """What the pricing service must answer: anything else is its failure (502), never an order
    with a price the service would not accept from a client."""

    unit_price: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class UnknownSku(Problem):
    def __init__(self, sku: str) -> None:
        super().__init__(
            422, "Unprocessable Content", f"The pricing service does not know {sku!r}."
        )


class PricingClient:
    def __init__(
        self,
        base_url: str | None,
        *,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        backoff: float,
        breaker: pybreaker.CircuitBreaker,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = (connect_timeout, read_timeout)
        self.breaker = breaker
        self.http = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRIED_STATUSES,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        self.http.mount("http://", HTTPAdapter(max_retries=retry))
        self.http.mount("https://", HTTPAdapter(max_retries=retry))

    def price_of(self, sku: str) -> Price:
        if self.base_url is None:
            raise Problem(503, "Service Unavailable", "No pricing service is configured.")
        try:
            return self.breaker.call(self._fetch_price, sku)
        except pybreaker.CircuitBreakerError:
            raise Problem(
                503, "Service Unavailable", "The pricing service is failing; try again later."
            ) from None
        except (requests.RequestException, ValueError, KeyError, InvalidOperation) as error:
            if _timed_out(error):
                raise Problem(
                    504, "Gateway Timeout", "The pricing service did not answer in time."
                ) from None
            raise Problem(
                502, "Bad Gateway", f"The pricing service failed: {type(error).__name__}."
            ) from None

    def _fetch_price(self, sku: str) -> Price:
        response = self.http.get(f"{self.base_url}/prices/{sku}", timeout=self.timeout)
        if response.status_code == 404:
            raise UnknownSku(sku)
        response.raise_for_status()
        answer = PriceAnswer.model_validate(response.json())
        return Price(sku=sku, unit_price=answer.unit_price, currency=answer.currency)

    def check(self) -> None:
        if self.base_url is not None:
            self.http.get(f"{self.base_url}/health", timeout=self.timeout).raise_for_status()


def _timed_out(error: Exception) -> bool:
    """Whether the upstream did not answer in time. A read timeout that used up the retries
    reaches requests as ``MaxRetryError(reason=ReadTimeoutError)``, which it raises as a
    ``ConnectionError``, not as ``requests.Timeout``."""
    if isinstance(error, requests.Timeout):
        return True
    cause = error.args[0] if error.args else None
    return isinstance(getattr(cause, "reason", None), Urllib3Timeout)


def init_app(app: Flask) -> None:
    breaker = pybreaker.CircuitBreaker(
        fail_max=int(app.config["PRICING_BREAKER_FAIL_MAX"]),
        reset_timeout=float(app.config["PRICING_BREAKER_RESET_SECONDS"]),
        # An unknown SKU is an answer, not a failure of the upstream.
        exclude=[UnknownSku],
        throw_new_error_on_trip=False,
    )
    app.extensions[EXTENSION] = PricingClient(
        app.config["PRICING_URL"],
        connect_timeout=float(app.config["PRICING_CONNECT_TIMEOUT_SECONDS"]),
        read_timeout=float(app.config["PRICING_READ_TIMEOUT_SECONDS"]),
        retries=int(app.config["PRICING_RETRIES"]),
        backoff=float(app.config["PRICING_BACKOFF_SECONDS"]),
        breaker=breaker,
    )


def client() -> PricingClient:
    instance: PricingClient = current_app.extensions[EXTENSION]
    return instance
