"""The explicit registry of finding rules: (kind, rule) in the order they run.

Adding a rule means writing it in findings.py and listing it here; nothing registers
itself on import.  Kinds are the DESIGN.md contract names.
"""

from __future__ import annotations

from . import findings as _f

Rule = _f.Rule  # a plain function of the context, or a generator fed the flows

RULES: tuple[tuple[str, Rule], ...] = (
    ("nagle_delayed_ack", _f.rule_nagle),
    ("rto_stall", _f.rule_rto),
    ("retransmissions", _f.rule_retransmissions),
    ("zero_window", _f.rule_zero_window),
    ("receive_window_limited", _f.rule_receive_window),
    ("window_scaling_off", _f.rule_window_scaling_off),
    ("sack_off", _f.rule_sack_off),
    ("timestamps_off", _f.rule_timestamps_off),
    ("time_wait_pressure", _f.rule_time_wait),
    ("connection_churn", _f.rule_churn),
    ("keepalive", _f.rule_keepalive),
    ("reset", _f.rule_reset),
    ("handshake_failure", _f.rule_handshake_failure),
    ("syn_retransmission", _f.rule_syn_retransmission),
    ("syn_flood", _f.rule_syn_flood),
    ("mss_missing", _f.rule_mss_missing),
    ("offload_artifacts", _f.rule_offload),
    ("capture_loss", _f.rule_capture_loss),
    ("loss_bound_throughput", _f.rule_mathis),
    ("slow_start_restart", _f.rule_slow_start_restart),
)

KINDS: tuple[str, ...] = tuple(kind for kind, _ in RULES)
