"""XTREME-exact scoring on a 0-100 scale. One obvious place per metric:

- ``accuracy``, ``tagging_f1`` (seqeval, as XTREME)       -> ``xltlib.metrics.basic``
- ``squad_scores``, ``normalize_answer`` (SQuAD / MLQA)   -> ``xltlib.metrics.qa``
- ``tatoeba_accuracy``, ``mine_candidates``, ``bucc_f1``, ``map_at_k`` -> ``xltlib.metrics.retrieval``
- ``xtreme_score`` (task, category and benchmark averages) -> ``xltlib.metrics.aggregate``
"""
from xltlib.metrics.aggregate import xtreme_score
from xltlib.metrics.basic import accuracy, tagging_f1
from xltlib.metrics.qa import normalize_answer, squad_scores
from xltlib.metrics.retrieval import bucc_f1, knn, map_at_k, mine_candidates, rank_candidates, tatoeba_accuracy

__all__ = [
    "accuracy", "tagging_f1", "squad_scores", "normalize_answer", "tatoeba_accuracy", "mine_candidates",
    "bucc_f1", "map_at_k", "rank_candidates", "knn", "xtreme_score",
]
