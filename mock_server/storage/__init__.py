"""Fixture files and durable state; the live state itself is in memory (see domain)."""
