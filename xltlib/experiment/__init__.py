"""Experiments: the profiles (toy world or XTREME: ``profiles``), study files (``study``), the notebooks'
experiments (``studies``), running and resuming studies (``runner``), the results store (``results``) and
cost plans (``plan``)."""
