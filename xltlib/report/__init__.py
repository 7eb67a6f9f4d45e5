"""Reports: the notebooks' helpers (``notebook``, ``analysis``, ``similarity``), the paper's claims
(``claims``) and ``xlt reports`` (``reports``)."""
