"""The seed module's public API (``LLMClient``, ``ImageUtils``, registries...) as thin facades.

They hold no logic of their own: each method delegates to the composition root
and the use-cases.
"""
