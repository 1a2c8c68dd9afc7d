"""The chain: the JSON-RPC client (``rpc``), the VersionBeacon's ABI and reads
(``beacon``), where a rollout plan comes from (``source``), and a rollout's state
(``state``).

Nothing is imported here: the heavy clients load only in commands that read the chain.
"""
