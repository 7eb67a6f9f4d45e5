"""The registry: tasks and benchmarks (``tasks``), languages, model sizes (``models``) and the normalized
example types (``examples``), as data. Depends on nothing else in xltlib but ``errors``."""
