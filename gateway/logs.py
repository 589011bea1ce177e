"""Structured JSON logs with the request id on every line, and a last-line redaction of secret-looking text."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("omniops_request_id", default=None)

# Defence in depth: product code never logs secrets; anything that still looks like one is masked.
_SECRET_PATTERNS = [
    re.compile(r"\b(ck|cs)_[A-Za-z0-9]{16,}"),  # WooCommerce consumer key/secret
    re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]{8,}"),  # Stripe keys
    re.compile(r"\b(ac_|oo_|wsk_|whsec_)[A-Za-z0-9_\-]{8,}"),  # OAuth codes, our tokens, webhook secrets
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/]{8,}=*"),
    re.compile(r"(/consent/)[A-Za-z0-9_\-]{20,}"),  # single-use consent link tokens in request lines
    re.compile(r"(?i)((?:password|secret|token|code)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{4,}"),
]
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask anything in ``text`` that looks like a credential."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "***", text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in body and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(body, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(*, level: str = "INFO", json_lines: bool = True, stream: Any = None) -> None:
    """Install the OmniOps handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_omniops", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._omniops = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else TextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel("WARNING")
    logging.getLogger("httpx").setLevel("WARNING")
