"""The engine: one class per task format (``formats``, heads in ``heads``), tokenization and batching
(``features``), the shared encoder with its heads (``model``), fine-tuning (``train``, ``multitask``),
predictions and scores (``evaluation``) and the three phases of a run (``phases``). It reads data through a
``load(task, lang, split)`` function and knows nothing of studies."""
