"""The seed's ``ConfigLoader``: read YAML/JSON config files and ``.env`` files.

A facade over the runtime config loader (handed out by the composition root),
so these files are parsed, capped and reported exactly like
``inference_runtime.yaml``.

One deliberate difference from the seed: nothing here writes to
``os.environ``. The seed's ``load_env_file()`` copied ``.env`` values into the
process environment (a hidden global change, racy under concurrency); here it
returns them, and :meth:`ConfigLoader.environment` returns the merged view
(process environment first, ``.env`` filling only unset variables, the seed's
precedence) for callers that need one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference_core.composition.services import (
    environment_snapshot,
    find_file_upwards,
    load_runtime,
    parse_config_text,
    read_config_file,
    read_env_file,
    substitute_env,
)
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.errors import ConfigurationError

__all__ = ["ConfigLoader"]

_ENV_FILE = ".env"


class ConfigLoader:
    """Load configuration files with ``${VAR}`` substitution (seed API, static methods).

    ``${VAR}`` and ``${VAR:-default}`` are replaced from an environment snapshot;
    ``$${`` writes a literal ``${``. An unset variable without a default is an
    error naming the file and key, except under ``api_keys`` where it means
    "no key for that provider" (``None``), as in the runtime config.
    """

    @staticmethod
    def environment(
        *, read_dotenv: bool = True, start: str | os.PathLike[str] | None = None
    ) -> dict[str, str]:
        """A snapshot of the process environment plus the nearest ``.env`` for unset variables.

        Args:
            read_dotenv: Merge the nearest ``.env`` file (searched upward from ``start``).
            start: Directory to search from; the working directory when omitted.
        """
        env, _ = environment_snapshot(
            read_dotenv=read_dotenv, start=Path(start) if start is not None else None
        )
        return env

    @staticmethod
    def find_file_upwards(
        name: str | Sequence[str], start: str | os.PathLike[str] | None = None
    ) -> Path | None:
        """Return the first file called ``name`` (or one of several names) in ``start`` or above.

        Args:
            name: A file name, or names tried in order in each directory.
            start: Directory to start from; the working directory when omitted.
        """
        names = (name,) if isinstance(name, str) else tuple(name)
        return find_file_upwards(names, Path(start) if start is not None else None)

    @staticmethod
    def load_env_file(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Parse a ``.env`` file and return its values (``os.environ`` is left unchanged).

        Args:
            path: The file; when omitted the nearest ``.env`` upward from the
                working directory, and ``{}`` if there is none.

        Raises:
            ConfigurationError: ``path`` does not exist or a line is malformed.
        """
        if path is None:
            found = find_file_upwards(_ENV_FILE)
            return {} if found is None else read_env_file(found)
        env_file = Path(path).expanduser()
        if not env_file.is_file():
            raise ConfigurationError(f"{env_file}: no such .env file")
        return read_env_file(env_file)

    @staticmethod
    def load(
        path: str | os.PathLike[str],
        substitute_env: bool = True,
        *,
        environ: Mapping[str, str] | None = None,
        read_dotenv: bool = True,
    ) -> dict[str, Any]:
        """Read a YAML (or ``.json``) file into a dict, substituting ``${VAR}`` references.

        Args:
            path: The file to read.
            substitute_env: Replace ``${VAR}`` references (the seed's default).
            environ: Variables to substitute from; :meth:`environment` when omitted.
            read_dotenv: With ``environ`` omitted, also use the nearest ``.env``.

        Raises:
            ConfigurationError: The file is missing, too large, malformed, not a
                mapping, or references an unset variable; the message names the
                file, line or key.
        """
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigurationError(f"{file}: no such config file")
        source = str(file)
        data = parse_config_text(
            read_config_file(file), source=source, is_json=file.suffix.lower() == ".json"
        )
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{source}: the top level must be a mapping, got {type(data).__name__}"
            )
        if not substitute_env:
            return data
        env = environ if environ is not None else ConfigLoader.environment(read_dotenv=read_dotenv)
        return {key: _substitute(key, value, env, source) for key, value in data.items()}

    @staticmethod
    def load_runtime_config(
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> RuntimeConfig:
        """Find, read and validate the runtime config (``inference_runtime.yaml``).

        Args:
            path: The file; otherwise ``INFERENCE_RUNTIME_CONFIG`` or an upward search.
            environ: Environment to resolve against; the process environment when omitted.

        Raises:
            ConfigurationError: The file is missing, malformed or invalid.
        """
        return load_runtime(path, environ=environ).config


def _substitute(key: Any, value: Any, env: Mapping[str, str], source: str) -> Any:
    # Under api_keys an unset variable means "no key": the error comes if that provider is used.
    unset_ok = key == "api_keys"
    return substitute_env(value, env, source=source, path=(str(key),), unset_ok=unset_ok)
