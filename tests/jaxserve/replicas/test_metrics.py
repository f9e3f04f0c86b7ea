"""Merging the replicas' Prometheus text: one header per family, a replica label per sample."""

from __future__ import annotations

from jaxserve.replicas.metrics import front_lines, merge_expositions

REPLICA_TEXT = """\
# HELP jaxserve:num_requests_running Requests running.
# TYPE jaxserve:num_requests_running gauge
jaxserve:num_requests_running{model_name="tiny"} %d
# HELP jaxserve:e2e_request_latency_seconds Latency.
# TYPE jaxserve:e2e_request_latency_seconds histogram
jaxserve:e2e_request_latency_seconds_bucket{model_name="tiny",le="1.0"} 3
jaxserve:e2e_request_latency_seconds_sum{model_name="tiny"} 1.5
# HELP process_open_fds Open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 12
"""


def test_each_family_keeps_one_header_and_every_replicas_samples():
    merged = merge_expositions([REPLICA_TEXT % 1, REPLICA_TEXT % 4]).splitlines()
    assert merged.count("# TYPE jaxserve:num_requests_running gauge") == 1
    running = merged.index("# TYPE jaxserve:num_requests_running gauge")
    assert merged[running + 1 : running + 3] == [
        'jaxserve:num_requests_running{replica="0",model_name="tiny"} 1',
        'jaxserve:num_requests_running{replica="1",model_name="tiny"} 4',
    ]
    assert (
        'jaxserve:e2e_request_latency_seconds_bucket{replica="1",model_name="tiny",le="1.0"} 3'
        in merged
    )
    assert 'process_open_fds{replica="0"} 12' in merged  # a sample without labels gets one
    headers = [i for i, line in enumerate(merged) if line.startswith("# TYPE")]
    samples = [i for i, line in enumerate(merged) if "e2e_request_latency" in line]
    assert headers[1] < min(s for s in samples if not merged[s].startswith("#"))


def test_a_replica_that_did_not_answer_is_left_out():
    merged = merge_expositions([None, REPLICA_TEXT % 2])
    assert 'replica="1"' in merged and 'replica="0"' not in merged
    assert merge_expositions([None, None]) == ""


def test_front_lines_count_replicas_up_and_in_flight():
    text = front_lines([True, False, True], [3, 0, 1])
    assert "jaxserve:replicas_up 2\n" in text
    assert 'jaxserve:replica_requests_in_flight{replica="0"} 3\n' in text
    assert 'jaxserve:replica_requests_in_flight{replica="2"} 1\n' in text
