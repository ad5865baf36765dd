"""The generator registry: entry-point plugins, seed-style directories, and registered instances.

Sources, in order (a later source may not silently shadow an earlier one:
the clash is kept as an error on the later entry):

1. ``inference_core.media_generators`` entry points (the built-ins register
   there too). Loading an entry point is cheap; the generator is constructed
   on first :meth:`get`, with its ``generators.<id>`` config section and the
   runtime's secrets, so a missing key surfaces as that generator's error,
   not as a failure of the whole registry.
2. Seed-style directories named in ``media.generator_dirs``:
   ``<dir>/<name>/generator.py`` (or ``__init__.py``); the first subclass of a
   seed base class defined in that module is instantiated with no arguments
   and registered under its ``metadata.id``. (Seed generators are built at
   scan time because their id is only known from an instance.)
3. Instances registered at run time (:meth:`register`, the seed's
   ``register_generator``).

Nothing is dropped or printed: a generator that fails to import or construct
is listed with the reason and :meth:`get` raises ``GeneratorUnavailable``.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from inference_core.adapters.media.legacy import LegacyGenerator, SeedGenerator
from inference_core.domain.errors import GeneratorNotFound, GeneratorUnavailable
from inference_core.domain.media import MediaKind
from inference_core.ports.media import GeneratorListing, MediaGenerator
from inference_core.ports.plugins import MEDIA_GENERATORS_GROUP, GeneratorContext, GeneratorPlugin

__all__ = ["GeneratorSource", "PluginGeneratorRegistry", "scan_seed_directory"]

#: Builds the context a plugin's factory receives, from the generator id.
ContextFor = Callable[[str], GeneratorContext]


@dataclass
class GeneratorSource:
    """One registry entry: where it came from and how to build it (or why it can't be)."""

    id: str
    kind: MediaKind
    source: str
    build: Callable[[], MediaGenerator] | None = None
    instance: MediaGenerator | None = None
    error: str | None = None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def plugin_sources(
    plugins: Iterable[GeneratorPlugin], context_for: ContextFor, origin: str = "plugin"
) -> list[GeneratorSource]:
    """Entries for a fixed set of plugins (tests, embedding applications)."""
    sources = []
    for plugin in plugins:
        missing = plugin.missing()

        def build(plugin: GeneratorPlugin = plugin) -> MediaGenerator:
            return plugin.create(context_for(plugin.id))

        sources.append(
            GeneratorSource(
                id=plugin.id,
                kind=plugin.kind,
                source=origin,
                build=None if missing else build,
                error=(
                    f"needs the {missing!r} package (pip install 'inference-core[media]')"
                    if missing
                    else None
                ),
            )
        )
    return sources


def entry_point_sources(context_for: ContextFor) -> list[GeneratorSource]:
    """Entries for every installed ``inference_core.media_generators`` entry point."""
    sources: list[GeneratorSource] = []
    for point in entry_points(group=MEDIA_GENERATORS_GROUP):
        origin = f"entry point {point.name} = {point.value}"
        try:
            plugin = point.load()
        except Exception as exc:
            sources.append(
                GeneratorSource(
                    id=point.name, kind=MediaKind.IMAGE, source=origin, error=_describe(exc)
                )
            )
            continue
        if not isinstance(plugin, GeneratorPlugin):
            sources.append(
                GeneratorSource(
                    id=point.name,
                    kind=MediaKind.IMAGE,
                    source=origin,
                    error=f"{point.value} is a {type(plugin).__name__}, not a GeneratorPlugin",
                )
            )
            continue
        sources.extend(plugin_sources([plugin], context_for, origin))
    return sources


def scan_seed_directory(directory: Path) -> list[GeneratorSource]:
    """Entries for the seed-style generators under ``directory`` (one per sub-directory)."""
    sources: list[GeneratorSource] = []
    if not directory.is_dir():
        return [
            GeneratorSource(
                id=directory.name,
                kind=MediaKind.IMAGE,
                source=str(directory),
                error="generator directory does not exist",
            )
        ]
    subdirs = (p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for sub in sorted(subdirs):
        module_file = sub / "generator.py"
        if not module_file.exists():
            module_file = sub / "__init__.py"
        if not module_file.exists():
            continue
        sources.append(_seed_source(sub.name, module_file))
    return sources


def _seed_source(name: str, module_file: Path) -> GeneratorSource:
    origin = str(module_file)
    module_name = f"inference_core_seed_generators.{module_file.parent.parent.name}.{name}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, module_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {module_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        seed_class = next(
            (
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, SeedGenerator)
                and value.__module__ == module_name
                and not getattr(value, "__abstractmethods__", None)
            ),
            None,
        )
        if seed_class is None:
            raise ImportError(f"{module_file.name} defines no generator class")
        generator = LegacyGenerator(seed_class())
    except Exception as exc:
        sys.modules.pop(module_name, None)
        return GeneratorSource(id=name, kind=MediaKind.IMAGE, source=origin, error=_describe(exc))
    info = generator.info
    return GeneratorSource(id=info.id, kind=info.kind, source=origin, instance=generator)


class PluginGeneratorRegistry:
    """A :class:`~inference_core.ports.GeneratorRegistry` of plugin, directory and runtime entries.

    Args:
        discover: Returns the entries to hold; called now and on :meth:`reload`.
        redact: Masks secrets in error text kept for a broken generator (a
            factory's exception may quote a setting).
    """

    def __init__(
        self,
        discover: Callable[[], Sequence[GeneratorSource]],
        *,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._discover = discover
        self._redact = redact
        self._lock = threading.Lock()
        self._registered: dict[str, GeneratorSource] = {}
        self._entries: dict[str, GeneratorSource] = {}
        self.reload()

    @classmethod
    def of(cls, generators: Iterable[MediaGenerator]) -> PluginGeneratorRegistry:
        """A registry of ready instances (tests, embedding applications)."""
        fixed = [
            GeneratorSource(id=g.info.id, kind=g.info.kind, source="registered", instance=g)
            for g in generators
        ]
        return cls(lambda: fixed)

    def reload(self) -> None:
        """Discover again (entry points, directories); runtime registrations are kept."""
        entries: dict[str, GeneratorSource] = {}
        for source in [*self._discover(), *self._registered.values()]:
            earlier = entries.get(source.id)
            if earlier is not None and source.source != "registered":
                source.error = source.error or f"id already provided by {earlier.source}"
                entries[f"{source.id} ({source.source})"] = source
                continue
            entries[source.id] = source
        with self._lock:
            self._entries = entries

    def register(self, generator: MediaGenerator) -> None:
        """Add (or replace) a ready generator under its ``info.id``."""
        info = generator.info
        source = GeneratorSource(
            id=info.id, kind=info.kind, source="registered", instance=generator
        )
        with self._lock:
            self._registered[info.id] = source
            self._entries[info.id] = source

    def get(self, generator_id: str) -> MediaGenerator:
        """The generator ``generator_id``, constructed on first use.

        Raises:
            GeneratorNotFound: No entry has that id (the error lists the ids).
            GeneratorUnavailable: The entry failed to load or to construct.
        """
        with self._lock:
            entry = self._entries.get(generator_id)
            if entry is None:
                raise GeneratorNotFound(generator_id, sorted(self._usable_ids()))
            if entry.instance is not None:
                return entry.instance
            if entry.error is not None or entry.build is None:
                raise GeneratorUnavailable(generator_id, entry.error or "cannot be built")
            try:
                entry.instance = entry.build()
            except Exception as exc:
                entry.error = self._redact(_describe(exc))
                raise GeneratorUnavailable(generator_id, entry.error) from None
            if entry.instance.info.kind is not entry.kind:
                entry.kind = entry.instance.info.kind
            return entry.instance

    def listings(self, kind: MediaKind | None = None) -> list[GeneratorListing]:
        """Every entry of ``kind``, sorted by id; ``info`` is set for constructed ones."""
        with self._lock:
            entries = list(self._entries.values())
        return sorted(
            (
                GeneratorListing(
                    id=e.id,
                    kind=e.kind,
                    source=e.source,
                    info=e.instance.info if e.instance is not None else None,
                    error=e.error,
                )
                for e in entries
                if kind is None or e.kind is kind
            ),
            key=lambda listing: listing.id,
        )

    def _usable_ids(self) -> list[str]:
        return [k for k, e in self._entries.items() if e.error is None]
