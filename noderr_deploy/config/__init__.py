"""tiers.yaml: finding it (``locate``), reading its rollout and rollback sections fast
(``sections``), validating all of it (``schema``), with YAML positions for messages
(``yamlpos``) and the rollback thresholds' rules (``thresholds``).

Nothing is imported here: ``noderr cohort`` reads the rollout section without pydantic.
"""
