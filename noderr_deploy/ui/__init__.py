"""What a person or a script sees: output streams and safe text (``output``), build
progress (``progress``), the renderers of each command's result (``cohort``,
``rollback``), and the command line around them: how a run ends (``exits``), groups that
load a command only when it runs (``groups``), what every command's parameters get
(``params``) and shell completion (``completion``).
"""
