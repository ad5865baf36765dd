"""Adapters: one package per vendor or technology, each implementing ports.

Vendor SDKs are imported inside these packages only, and only when the
composition root first builds an adapter for them.
"""
