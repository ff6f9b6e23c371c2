"""The ``insights`` command: thin shells over the library."""
