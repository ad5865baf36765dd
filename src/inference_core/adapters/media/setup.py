"""Build the media side from the runtime config: registry, store and probe.

Kept out of the composition root so that it only wires; nothing here runs
until media is first used, so chat-only programs never import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import SecretStr

from inference_core.adapters.media.registry import (
    GeneratorSource,
    PluginGeneratorRegistry,
    entry_point_sources,
    scan_seed_directory,
)
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.domain.config import RuntimeConfig
from inference_core.ports.plugins import GeneratorContext

__all__ = ["build_registry", "build_store", "context_factory"]


def context_factory(
    config: RuntimeConfig, env: Mapping[str, str]
) -> Callable[[str], GeneratorContext]:
    """What each generator factory receives: its config section and the runtime's keys."""
    secrets = {name: SecretStr(value) for name, value in env.items() if value}

    def context_for(generator_id: str) -> GeneratorContext:
        options = dict(config.generators.get(generator_id, {}))
        if config.media.journal_path is not None:  # the queued generators' job journal
            options.setdefault("journal_path", config.media.journal_path)
        return GeneratorContext(options=options, secrets=secrets)

    return context_for


def build_registry(
    config: RuntimeConfig,
    env: Mapping[str, str],
    *,
    config_dir: Path | None,
    redact: Callable[[str], str],
) -> PluginGeneratorRegistry:
    """The registry of installed plugins plus the config's seed-style directories."""
    context_for = context_factory(config, env)
    base = config_dir or Path.cwd()

    def discover() -> list[GeneratorSource]:
        sources = entry_point_sources(context_for)
        for directory in config.media.generator_dirs:
            sources.extend(scan_seed_directory((base / directory).resolve()))
        return sources

    return PluginGeneratorRegistry(discover, redact=redact)


def build_store(
    config: RuntimeConfig, output_dir: str | Path | None = None
) -> FilesystemAssetStore:
    """The filesystem store of ``output_dir`` (default ``media.output_dir``)."""
    return FilesystemAssetStore(
        output_dir or config.media.output_dir, max_bytes=config.media.max_output_bytes
    )
