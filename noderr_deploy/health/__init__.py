"""Node health reports: the record and its status (``report``), timestamps (``stamps``),
latest-wins (``latest``), what a read found wrong (``problems``) and produced
(``results``), decoding (``decode``), one reader per format (``jsonl``, ``array``,
``csvfile``, ``postgres``), choosing the reader for a file (``sources``), the parallel
machinery for large JSON Lines files (``segments``, ``parallel``), and the single entry
point (``read``).

Nothing is imported here, so that importing one module does not import them all.
"""
