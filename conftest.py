"""Test-wide settings: the Hub is unreachable here, so fail fast instead of retrying for seconds."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# nbval executes the notebooks as they are: on the smoke profile (their parameters cell says "toy")
os.environ.setdefault("XLT_NOTEBOOK_PROFILE", "smoke")
