"""Use-cases and policies (retry, deadline, fallback, usage), wired through ports only."""
