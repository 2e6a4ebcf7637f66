"""Prometheus metrics of one agent (its own registry: tests and several agents in a process never clash)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class EdgeMetrics:
    def __init__(self, outbox_depth: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames = Counter("streetwatch_edge_frames", "sampled frames processed", ["camera"], registry=r)
        self.fps = Gauge("streetwatch_edge_fps", "processed frames per second (smoothed)", ["camera"], registry=r)
        self.decoded = Gauge("streetwatch_edge_decoded_frames", "frames decoded by the source", ["camera"], registry=r)
        self.reconnects = Counter("streetwatch_edge_reconnects", "source reconnects", ["camera"], registry=r)
        self.camera_up = Gauge(
            "streetwatch_edge_camera_up", "1 when the source delivers frames", ["camera"], registry=r
        )
        self.camera_healthy = Gauge(
            "streetwatch_edge_camera_healthy", "1 when no health problem pauses the rules", ["camera"], registry=r
        )
        self.inference = Histogram(
            "streetwatch_edge_inference_seconds",
            "detector time per batch",
            registry=r,
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
        )
        self.latency = Histogram(
            "streetwatch_edge_frame_to_decision_seconds",
            "frame arrival to rules done",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
        )
        self.cases = Counter(
            "streetwatch_edge_cases",
            "cases by outcome (filed = stored in the outbox)",
            ["violation", "outcome"],
            registry=r,
        )
        self.health_events = Counter(
            "streetwatch_edge_health_events", "health problems", ["camera", "problem"], registry=r
        )
        depth = Gauge("streetwatch_edge_outbox_depth", "cases waiting for delivery", registry=r)
        depth.set_function(outbox_depth)
