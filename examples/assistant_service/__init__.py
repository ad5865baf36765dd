"""The Assistant host example: a Flask service that runs descriptor sub-agents.

``create_app(executor, workspace=...)`` builds the app around an injected
executor (``DescriptorExecutor(inference, descriptors)``); ``python -m
examples.assistant_service`` serves the demo agents. Needs the ``host`` extra
(Flask) and, for the default mode, the ``local`` extra (the embedded model).
"""

from __future__ import annotations

from examples.assistant_service.app import ExecutionStatus, binary_safe, create_app
from examples.assistant_service.demo import demo_descriptors
from examples.assistant_service.executor import DescriptorExecutor

__all__ = [
    "DescriptorExecutor",
    "ExecutionStatus",
    "binary_safe",
    "create_app",
    "demo_descriptors",
]
