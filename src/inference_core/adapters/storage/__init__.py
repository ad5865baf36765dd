"""Asset stores: where generated media files are written."""

from inference_core.adapters.storage.filesystem import FilesystemAssetStore, safe_name

__all__ = ["FilesystemAssetStore", "safe_name"]
