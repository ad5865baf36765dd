"""Token counting with tiktoken (the ``tokens`` extra), falling back to the domain estimate."""

from inference_core.adapters.tokens.tiktoken_counter import TiktokenCounter, tiktoken_available

__all__ = ["TiktokenCounter", "tiktoken_available"]
