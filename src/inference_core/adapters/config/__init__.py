"""Runtime configuration adapter: files, ``.env`` and settings (the only place reading env)."""

from inference_core.adapters.config.loader import (
    CONFIG_ENV_VAR,
    CONFIG_FILE_NAMES,
    LoadedRuntime,
    config_from_data,
    environment_snapshot,
    find_config_file,
    find_file_upwards,
    load_runtime,
    read_env_file,
    substitute_env,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILE_NAMES",
    "LoadedRuntime",
    "config_from_data",
    "environment_snapshot",
    "find_config_file",
    "find_file_upwards",
    "load_runtime",
    "read_env_file",
    "substitute_env",
]
