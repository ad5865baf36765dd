"""What every queued generator (fal, WaveSpeed) shares: options, journal, generate/resume/cancel.

A queued generator turns a validated request into a ``JobSpec`` (the
provider's arguments and the job's declared cost) and reads the output files
out of a result document; ``QueuedJobs`` (:mod:`~inference_core.adapters.media.queued`)
does the rest: claim, submit once, record, wait, collect, download.

Options every queued generator reads from its ``generators.<id>`` section:

=========================  ==========================================================
``base_url``               the provider's API root
``timeout``                read timeout of one HTTP call, seconds (default 30)
``deadline``               seconds a job may take from its submit (then cancelled)
``poll_interval``          first wait between status polls (grown x1.5 up to
                           ``poll_max_interval``)
``result_attempts``        tries of the result fetch after the job completed
``max_output_bytes``       size cap of one downloaded file
``download_timeout``       seconds for one whole download
``allow_private_networks`` CIDRs result URLs may point into although not public
                           (default none: loopback/private/link-local refused)
``journal_path``           the SQLite job journal (default: the user's state dir)
=========================  ==========================================================
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from inference_core.adapters.jobs import SqliteJobJournal, default_journal_path
from inference_core.adapters.media._common import (
    DEFAULT_MAX_OUTPUT_BYTES,
    load_image,
    option_float,
    option_int,
    parse_params,
)
from inference_core.adapters.media.download import DownloadPolicy, ResultDownloader
from inference_core.adapters.media.published import Published
from inference_core.adapters.media.queued import (
    Collected,
    JobSpec,
    OutputFile,
    QueuedJobs,
    QueueTiming,
    QueueWire,
)
from inference_core.domain.errors import ConfigurationError, InvalidResponse
from inference_core.domain.generator_input import input_schema
from inference_core.domain.jobs import JobRecord
from inference_core.domain.media import (
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaInput,
)
from inference_core.ports.media import AssetStore, JobJournal, ProgressCallback
from inference_core.ports.plugins import GeneratorContext

__all__ = [
    "QueueOptions",
    "QueuedMediaGenerator",
    "env_value",
    "input_url",
    "queue_options",
]

_DEFAULT_HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class QueueOptions:
    """The common options of one queued generator, validated."""

    timing: QueueTiming
    http_timeout: float = _DEFAULT_HTTP_TIMEOUT_S
    download: DownloadPolicy = field(default_factory=DownloadPolicy)
    journal_path: Path | None = None


def env_value(ctx: GeneratorContext, name: str) -> str | None:
    """A non-secret setting of the runtime's environment (``FAL_VIDEO_MODEL``...).

    The context's ``secrets`` hold the runtime's whole environment snapshot;
    reading it here keeps generators off ``os.environ``.
    """
    value = ctx.secret(name)
    return value.get_secret_value().strip() if value is not None else None


def queue_options(
    ctx: GeneratorContext,
    generator_id: str,
    *,
    deadline: float,
    poll_interval: float,
) -> QueueOptions:
    """Read the common options (see the module docstring).

    Raises:
        ConfigurationError: An option has the wrong type or an invalid value.
    """
    interval = option_float(ctx, generator_id, "poll_interval", poll_interval)
    timing = QueueTiming(
        deadline_s=option_float(ctx, generator_id, "deadline", deadline),
        poll_interval=interval,
        poll_max_interval=option_float(ctx, generator_id, "poll_max_interval", max(10.0, interval)),
        result_attempts=option_int(ctx, generator_id, "result_attempts", 8),
        download_attempts=option_int(ctx, generator_id, "download_attempts", 3),
    )
    networks = ctx.option("allow_private_networks", ())
    if isinstance(networks, str) or not all(isinstance(n, str) for n in networks):
        raise ConfigurationError(
            f"generators.{generator_id}.allow_private_networks must be a list of CIDRs"
        )
    policy = DownloadPolicy(
        max_bytes=option_int(ctx, generator_id, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES),
        total_timeout=option_float(ctx, generator_id, "download_timeout", 600.0),
        allow_networks=tuple(networks),
    )
    try:
        policy.networks()
    except ValueError as exc:
        raise ConfigurationError(
            f"generators.{generator_id}.allow_private_networks: {exc}"
        ) from None
    path = ctx.option("journal_path")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise ConfigurationError(f"generators.{generator_id}.journal_path must be a path")
    state_home = env_value(ctx, "XDG_STATE_HOME")
    journal_path = (
        Path(path).expanduser()
        if path
        else default_journal_path({"XDG_STATE_HOME": state_home} if state_home else {})
    )
    return QueueOptions(
        timing=timing,
        http_timeout=option_float(ctx, generator_id, "timeout", _DEFAULT_HTTP_TIMEOUT_S),
        download=policy,
        journal_path=journal_path,
    )


async def input_url(generator_id: str, index: int, item: MediaInput) -> str:
    """An input image as a URL: http(s) URLs as given, files and bytes as ``data:`` URLs.

    The bytes' type is sniffed (a declared one is not trusted).

    Raises:
        InvalidGeneratorInput: The input cannot be read or is not an image.
    """
    if item.url is not None:
        return item.url
    image = await load_image(generator_id, index, item)
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"


class QueuedMediaGenerator(Published[BaseModel]):
    """A :class:`~inference_core.ports.QueuedGenerator` built from a wire and a request mapping.

    Subclasses implement :meth:`_spec` (request -> arguments and cost) and
    :meth:`_outputs` (result document -> output files).

    Args:
        info: The generator's description (``input_schema`` is filled in from ``input_model``).
        input_model: The strict model ``request.params`` is validated against.
        wire: The provider's queue protocol.
        options: Timing, download policy and journal location.
        journal: A journal to use instead of the one at ``options.journal_path``.
    """

    def __init__(
        self,
        *,
        info: GeneratorInfo,
        input_model: type[BaseModel],
        wire: QueueWire,
        options: QueueOptions,
        journal: JobJournal | None = None,
    ) -> None:
        self._input_model = input_model
        self._info = info.model_copy(update={"input_schema": input_schema(input_model)})
        if journal is None:
            if options.journal_path is None:
                raise ConfigurationError(f"generator {info.id!r} needs a job journal path")
            journal = SqliteJobJournal(options.journal_path)
        self._jobs = QueuedJobs(
            wire=wire,
            journal=journal,
            downloader=ResultDownloader(options.download, provider=wire.provider),
            timing=options.timing,
            outputs=self._outputs,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._info.id!r}, journal={self._jobs.journal!r})"

    @property
    def journal(self) -> JobJournal:
        """Where this generator records its jobs."""
        return self._jobs.journal

    @property
    def jobs(self) -> QueuedJobs:
        """The job engine (tests tune its pacing)."""
        return self._jobs

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Submit the request's job once (or collect its recorded one) and store its outputs."""
        params = parse_params(self._info.id, self._input_model, request.params)
        spec = await self._spec(request, params)
        collected = await self._jobs.run(spec, store=store, on_progress=on_progress)
        return self._output(collected)

    async def resume(
        self,
        job_id: str,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Collect the recorded job ``job_id``; never submits anything."""
        collected = await self._jobs.resume(
            job_id, self._info.id, store=store, on_progress=on_progress
        )
        return self._output(collected)

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel ``job_id`` at the provider and record it cancelled."""
        return await self._jobs.cancel(job_id, self._info.id)

    # -- for subclasses -------------------------------------------------------------------

    async def _spec(self, request: GenerationRequest, params: Any) -> JobSpec:
        raise NotImplementedError

    def _outputs(self, record: JobRecord, result: Any) -> Sequence[OutputFile]:
        raise NotImplementedError

    def _no_output(self, record: JobRecord, detail: str) -> InvalidResponse:
        # Not retried: the job completed; asking again would return the same document.
        return InvalidResponse(
            f"malformed result of job {record.request_id}: {detail}",
            provider=record.provider,
            model=record.model,
            retryable=False,
        )

    def _output(self, collected: Collected) -> GenerationOutput:
        record = collected.record
        return GenerationOutput(
            assets=collected.assets,
            usage=record.usage,
            provider_request_id=record.request_id,
            metadata={
                "provider": record.provider,
                "model": record.model,
                "job_id": record.id,
                "resumed": collected.resumed,
            },
        )
