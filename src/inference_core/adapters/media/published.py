"""What every built-in generator publishes, defined once: its info and its input model.

The ``MediaGenerator`` port reads ``info`` and ``input_model``; a generator
class sets ``_info`` and ``_input_model`` in ``__init__`` (or ``input_model``
as a class attribute) and inherits the two read-only properties from here,
instead of each class writing the same two properties again.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from inference_core.domain.media import GeneratorInfo

__all__ = ["Published"]

P = TypeVar("P", bound=BaseModel)


class Published(Generic[P]):
    """Read-only ``info`` and ``input_model`` over ``_info`` / ``_input_model`` (of type ``P``)."""

    _info: GeneratorInfo
    _input_model: type[P]

    @property
    def info(self) -> GeneratorInfo:
        """Identity, kind, capabilities and the published input schema."""
        return self._info

    @property
    def input_model(self) -> type[BaseModel]:
        """The model ``request.params`` is validated against (its schema is ``info``'s)."""
        return self._input_model
