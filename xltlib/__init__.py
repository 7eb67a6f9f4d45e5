"""xltlib: English intermediate-task training and zero-shot cross-lingual transfer (X-STILTs) on XTREME.

Start with ``xlt tasks``, ``xlt toy check``, ``xlt run examples/toy_small.yaml --out runs/toy_small`` and
``xlt reports``; the README maps the modules. Importing xltlib changes nothing in the process.
"""
from xltlib.version import __version__

__all__ = ["__version__"]
