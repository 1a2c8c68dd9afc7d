"""Node health reports: the record and latest-wins (``model``), decoding (``decode``), one
reader per format (``jsonl``, ``array``, ``csvfile``), choosing the reader for a file
(``sources``), the parallel machinery for large JSON Lines files (``segments``,
``parallel``), and the single entry point (``read``).

Nothing is imported here, so that importing one module does not import them all.
"""
