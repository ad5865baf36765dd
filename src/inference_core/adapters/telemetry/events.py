"""The structlog :class:`~inference_core.application.observability.EventLog`.

structlog is imported on the first event, not when this module is imported,
and the library never configures it: applications decide rendering, levels
and destinations. Every event is passed through a :class:`SecretRedactor`
before structlog sees it, so no configured key reaches any processor or sink.
"""

from __future__ import annotations

from typing import Any

from inference_core.adapters.telemetry.redaction import SecretRedactor

__all__ = ["StructlogEventLog"]


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

    def _log(self) -> Any:
        if self._logger is None:
            import structlog  # lazy: importing inference_core must not import structlog

            # A lazy proxy: it follows later structlog.configure() calls
            # (and structlog.testing.capture_logs).
            self._logger = structlog.get_logger(self._logger_name)
        return self._logger

    def info(self, event: str, /, **fields: Any) -> None:
        """Emit ``event`` at info level, redacted."""
        self._log().info(event, **self.redactor.redact(fields))

    def warning(self, event: str, /, **fields: Any) -> None:
        """Emit ``event`` at warning level, redacted."""
        self._log().warning(event, **self.redactor.redact(fields))
