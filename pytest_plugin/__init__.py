"""pytest fixtures for testing Omnitron clients against the emulator.

The plugin itself arrives in a later release; the package is importable so
that installs and imports stay stable across versions.
"""
