"""Media generators (OpenAI, OpenRouter, offline), the probe, the registry and AV operations."""
