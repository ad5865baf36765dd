"""The structlog :class:`~inference_core.application.observability.EventLog`.

The library never imports structlog itself: an application that configured
structlog has imported it, so ``sys.modules`` tells whether it is there (its
import costs ~70 ms, a fifth of a cold start). The library never configures
it: applications decide rendering, levels and destinations. Until the
application configures structlog, events go to the standard ``logging``
logger ``inference_core`` instead of structlog's default stdout printer. That
logger carries a ``NullHandler`` (the standard library's advice for
libraries), so a script that configured no logging prints nothing, not even
warnings through logging's last-resort handler; an application that
configures logging sees the events. Every event is passed through a
:class:`SecretRedactor` before structlog sees it, so no configured key
reaches any processor or sink.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from inference_core.adapters.telemetry.redaction import SecretRedactor

__all__ = ["StructlogEventLog"]


def _configured_structlog() -> Any | None:
    """The structlog module when the application configured it, else ``None`` (never imports it)."""
    module = sys.modules.get("structlog")
    if module is None or not module.is_configured():
        return None
    return module


# Silent until the application configures logging (then its handlers take over).
logging.getLogger("inference_core").addHandler(logging.NullHandler())


class StructlogEventLog:
    """Emits the application's events through ``structlog.get_logger(logger_name)``.

    Args:
        redactor: Masks secrets in every event (default: key-shaped text only).
        logger_name: Name passed to ``structlog.get_logger`` (the stdlib logger
            name when structlog is routed to ``logging``).
    """

    def __init__(
        self, redactor: SecretRedactor | None = None, *, logger_name: str = "inference_core"
    ) -> None:
        self.redactor = redactor or SecretRedactor()
        self._logger_name = logger_name
        self._logger: Any = None
        self._stdlib = logging.getLogger(logger_name)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        structlog = _configured_structlog()
        if structlog is None:
            if self._stdlib.isEnabledFor(level):
                redacted = self.redactor.redact(fields)
                detail = " ".join(f"{k}={v}" for k, v in redacted.items() if v is not None)
                self._stdlib.log(level, "%s %s", event, detail, extra={"inference": redacted})
            return
        if self._logger is None:
            # A lazy proxy: it follows later structlog.configure() calls
            # (and structlog.testing.capture_logs).
            self._logger = structlog.get_logger(self._logger_name)
        self._logger.log(level, event, **self.redactor.redact(fields))

    def wants_info(self) -> bool:
        """Whether an info event would reach anything (structlog configured, or ``logging`` on)."""
        return _configured_structlog() is not None or self._stdlib.isEnabledFor(logging.INFO)

    def info(self, event: str, /, **fields: Any) -> None:
        """Emit ``event`` at info level, redacted."""
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        """Emit ``event`` at warning level, redacted."""
        self._emit(logging.WARNING, event, fields)
