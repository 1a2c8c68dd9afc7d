"""What a person or a script sees: output streams and safe text (``output``), build
progress (``progress``), and the renderers of each command's result (``cohort``,
``rollback``).
"""
