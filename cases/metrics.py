"""Prometheus metrics, one registry per app (so several apps in one process do not collide)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    filings: Counter
    evidence_bytes: Counter
    transitions: Counter
    evidence_store_full: Counter
    evidence_swept: Counter
    evidence_free_bytes: Gauge  # set when scraped (api/ops.py)
    evidence_store_ok: Gauge


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
        evidence_store_full=Counter(
            "streetwatch_evidence_store_full",
            "filings refused (507) because the evidence store was full",
            registry=registry,
        ),
        evidence_swept=Counter(
            "streetwatch_evidence_swept", "files deleted by the evidence sweep", ["kind"], registry=registry
        ),
        evidence_free_bytes=Gauge(
            "streetwatch_evidence_store_free_bytes", "free bytes on the evidence store's file system", registry=registry
        ),
        evidence_store_ok=Gauge(
            "streetwatch_evidence_store_ok",
            "1 when the evidence store is writable and has room, else 0",
            registry=registry,
        ),
    )
