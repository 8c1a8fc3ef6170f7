"""Logs, each line carrying the id of the request it belongs to: JSON lines for a log collector
(``LOG_JSON``, the production entry point's default), plain text for a person at a terminal
(``flask run``'s).

The id is taken from the caller's ``X-Request-ID`` (so one id follows a request across services)
or made here, and echoed back in the response.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from .config import InvalidSetting

REQUEST_ID_HEADER = "X-Request-ID"
_HANDLER_NAME = "{{ cookiecutter.package_name }}.log"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Ids from outside are logged and echoed: accept only short, printable ones.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdFilter(logging.Filter):
    def __init__(self, outside_requests: str | None) -> None:
        super().__init__()
        self.outside_requests = outside_requests

    def filter(self, record: logging.LogRecord) -> bool:
        in_request = g.get("request_id") if has_request_context() else None
        record.request_id = in_request or self.outside_requests
        return True


def configure_logging(level: str, json_lines: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        formatter: logging.Formatter = JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        handler.addFilter(RequestIdFilter(outside_requests=None))
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
        handler.addFilter(RequestIdFilter(outside_requests="-"))
    handler.setFormatter(formatter)
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler, so that an app made twice (tests) logs each line once and
    # handlers installed by others (pytest's capture, gunicorn's) are left alone.
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _ACCEPTED_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.request_id
    logging.getLogger("{{ cookiecutter.package_name }}.access").info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 2),
        },
    )
    return response


def init_app(app: Flask) -> None:
    json_lines = app.config["LOG_JSON"]
    if not isinstance(json_lines, bool):
        raise InvalidSetting("LOG_JSON", "must be true or false")
    configure_logging(app.config["LOG_LEVEL"], json_lines)
    app.before_request(_start_request)
    app.after_request(_finish_request)
