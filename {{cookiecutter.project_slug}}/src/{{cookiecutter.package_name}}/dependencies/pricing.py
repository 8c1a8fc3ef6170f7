"""Client of the upstream pricing service.

Every call is bounded: a connect and a read timeout per attempt, a few retries with exponential
backoff for idempotent GETs (urllib3's ``Retry``), and a circuit breaker (pybreaker) that stops
calling a failing upstream for a while. Failures reach the client as problems, never as a hang
or a 500: a timeout is 504, a broken or failing upstream 502, an open circuit 503.
The worst case of one call is about ``(retries + 1) * (connect + read timeout)`` plus the backoff.

Without ``FLASK_PRICING_URL`` the service prices from a small embedded price list, so that
``flask run`` on a fresh clone takes orders. That is for development only: it is logged as a
warning at start, ``/readyz`` reports it as ``embedded``, and the production entry point
(``wsgi.py``, which the container runs) refuses to start without a pricing URL.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import pybreaker
import requests
from flask import Flask
from pydantic import BaseModel, Field
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from .. import config, wiring
from ..problems import Problem
from ..schemas import Currency, NewOrder
from ..wiring import Price

RETRIED_STATUSES = (500, 502, 503, 504)
PROBLEMS = {
    502: "Pricing service failed",
    503: "Pricing service unavailable (circuit open), or another dependency",
    504: "Pricing service timed out",
}
SETTINGS: dict[str, Any] = {
    # None prices from EMBEDDED_PRICES (development only; see the module's docstring).
    "PRICING_URL": None,
    "PRICING_CONNECT_TIMEOUT_SECONDS": 1.0,
    "PRICING_READ_TIMEOUT_SECONDS": 2.0,
    "PRICING_RETRIES": 2,
    "PRICING_BACKOFF_SECONDS": 0.1,
    "PRICING_BREAKER_FAIL_MAX": 5,
    "PRICING_BREAKER_RESET_SECONDS": 30.0,
}
EMBEDDED_PRICES = {
    "SKU-1": Price(Decimal("12.50"), "EUR"),
    "SKU-2": Price(Decimal("3.99"), "EUR"),
    "SKU-3": Price(Decimal("149.00"), "EUR"),
}
logger = logging.getLogger(__name__)


class PriceAnswer(BaseModel):
    """What the pricing service must answer: anything else is its failure (502), never an order
    with a price the service would not accept from a client."""

    unit_price: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    currency: Currency


class UnknownSku(Problem):
    def __init__(self, sku: str) -> None:
        super().__init__(
            422, "Unprocessable Content", f"The pricing service does not know {sku!r}."
        )


class PricingClient:
    """Prices from the pricing service (a ``wiring.PriceSource``)."""

    request_model = NewOrder
    problems = PROBLEMS

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        backoff: float,
        breaker: pybreaker.CircuitBreaker,
    ) -> None:
        self.base_url = base_url.rstrip("/")
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
        self.checks = requests.Session()

    def price_for(self, new: NewOrder) -> Price:
        return self.price_of(new.sku)

    def price_of(self, sku: str) -> Price:
        try:
            # Not ``breaker.call``: it holds the breaker's lock through the call, and a process's
            # requests would wait for each other's upstream calls, one at a time.
            with self.breaker.calling():
                return self._fetch_price(sku)
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
        return Price(unit_price=answer.unit_price, currency=answer.currency)

    def check(self, bound: float) -> None:
        # Not through the retrying session: one attempt, within the readiness check's bound.
        self.checks.get(f"{self.base_url}/health", timeout=bound).raise_for_status()

    def close(self) -> None:
        self.http.close()
        self.checks.close()


class EmbeddedPrices:
    """The embedded price list: ``flask run`` takes orders with nothing configured."""

    request_model = NewOrder
    # The same document whether or not a pricing service is configured.
    problems = PROBLEMS

    def price_for(self, new: NewOrder) -> Price:
        price = EMBEDDED_PRICES.get(new.sku)
        if price is None:
            raise UnknownSku(new.sku)
        return price

    def check(self, _bound: float) -> str:
        return "embedded"


def _timed_out(error: Exception) -> bool:
    """Whether the upstream did not answer in time. A read timeout that used up the retries
    reaches requests as ``MaxRetryError(reason=ReadTimeoutError)``, which it raises as a
    ``ConnectionError``, not as ``requests.Timeout``."""
    if isinstance(error, requests.Timeout):
        return True
    cause = error.args[0] if error.args else None
    return isinstance(getattr(cause, "reason", None), Urllib3Timeout)


def init_app(app: Flask) -> None:
    wiring.settings(app, SETTINGS)
    if config.given(app, "PRICING_URL") or not app.config["EMBEDDED_DEFAULTS"]:
        client = _client(app)
        wiring.of(app).prices = client
        wiring.register(
            app, wiring.Dependency("pricing", client.check, required=False, close=client.close)
        )
        return
    logger.warning(
        "FLASK_PRICING_URL is not set: prices come from the embedded price list "
        "(development only; SKUs %s)",
        ", ".join(EMBEDDED_PRICES),
    )
    embedded = EmbeddedPrices()
    wiring.of(app).prices = embedded
    wiring.register(app, wiring.Dependency("pricing", embedded.check, required=False))


def _client(app: Flask) -> PricingClient:
    breaker = pybreaker.CircuitBreaker(
        fail_max=int(app.config["PRICING_BREAKER_FAIL_MAX"]),
        reset_timeout=float(app.config["PRICING_BREAKER_RESET_SECONDS"]),
        # An unknown SKU is an answer, not a failure of the upstream.
        exclude=[UnknownSku],
        throw_new_error_on_trip=False,
    )
    return PricingClient(
        config.required(app, "PRICING_URL", "the service cannot price orders"),
        connect_timeout=float(app.config["PRICING_CONNECT_TIMEOUT_SECONDS"]),
        read_timeout=float(app.config["PRICING_READ_TIMEOUT_SECONDS"]),
        retries=int(app.config["PRICING_RETRIES"]),
        backoff=float(app.config["PRICING_BACKOFF_SECONDS"]),
        breaker=breaker,
    )
