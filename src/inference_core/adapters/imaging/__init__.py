"""Image handling with Pillow (the ``media`` extra): load, validate, convert, resize.

Importing this package imports Pillow; ``inference_core`` itself never does.
"""

try:
    import PIL  # noqa: F401 - fail here, with an install hint, rather than deep inside a call
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    from inference_core.domain.errors import ConfigurationError

    raise ConfigurationError(
        "image utilities need Pillow: pip install 'inference-core[media]'"
    ) from exc

from inference_core.adapters.imaging.pillow import ImageSource, PillowImaging, to_jpeg_compatible

__all__ = ["ImageSource", "PillowImaging", "to_jpeg_compatible"]
