"""``python -m inference_core`` runs the ``inference-core`` command."""

from inference_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
