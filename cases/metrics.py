"""Prometheus metrics, one registry per app (so several apps in one process do not collide)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    filings: Counter
    evidence_bytes: Counter
    transitions: Counter


def make_metrics() -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry=registry,
        requests=Counter(
            "streetwatch_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        ),
        latency=Histogram(
            "streetwatch_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        ),
        filings=Counter(
            "streetwatch_case_filings", "case filings by outcome", ["violation_type", "outcome"], registry=registry
        ),
        evidence_bytes=Counter("streetwatch_evidence_bytes", "evidence bytes accepted", registry=registry),
        transitions=Counter("streetwatch_case_transitions", "lifecycle transitions", ["to"], registry=registry),
    )
