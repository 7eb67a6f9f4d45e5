"""What produced a result: the package version and the engine revision, written into every run key and
every result row (column ``engine``).

Bump ``REVISION`` with any change to the engine, the loaders, the scoring or the toy world's data that can
change a number: every cached run then gets a new id and is recomputed, never silently reused. (The toy
*model* cache has its own key, ``xltlib.toy.pretrain.model_key``, since a change that leaves the
pretraining corpus alone should not cost a re-pretraining.)
"""
__version__ = "0.2.0"
REVISION = 2
ENGINE = f"{__version__}+r{REVISION}"
