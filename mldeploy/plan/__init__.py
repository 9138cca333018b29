"""Decide: pure plans built from validated settings, and the shared rules they apply once each."""
