"""Prometheus metrics of one agent (its own registry: tests and several agents in a process never clash).

Counts and states are read from an `AgentStatus` snapshot when Prometheus scrapes (a custom
collector), not pushed into gauges on every frame: the pipeline only counts, and a scrape costs
one snapshot. The two histograms stay instruments, observed as batches and decisions happen
(a distribution cannot be rebuilt from a snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streetwatch.edge.status import AgentStatus


class StatusCollector(Collector):
    """Every counter and gauge of the agent, from one snapshot per scrape."""

    def __init__(self, status: Callable[[], AgentStatus]) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        status = self.status()
        cameras = status.cameras
        frames = CounterMetricFamily("streetwatch_edge_frames", "sampled frames processed", labels=["camera"])
        fps = GaugeMetricFamily("streetwatch_edge_fps", "processed frames per second (smoothed)", labels=["camera"])
        decoded = GaugeMetricFamily(
            "streetwatch_edge_decoded_frames", "frames decoded by the source", labels=["camera"]
        )
        skipped = CounterMetricFamily(
            "streetwatch_edge_frames_skipped",
            "frames judged with the previous detections (view unchanged since the last inferred frame)",
            labels=["camera"],
        )
        reconnects = CounterMetricFamily("streetwatch_edge_reconnects", "source reconnects", labels=["camera"])
        up = GaugeMetricFamily("streetwatch_edge_camera_up", "1 when the source delivers frames", labels=["camera"])
        healthy = GaugeMetricFamily(
            "streetwatch_edge_camera_healthy", "1 when no health problem pauses the rules", labels=["camera"]
        )
        health_events = CounterMetricFamily(
            "streetwatch_edge_health_events", "health problems", labels=["camera", "problem"]
        )
        clip_bytes = GaugeMetricFamily(
            "streetwatch_edge_clip_buffer_bytes", "bytes of packets held for clips", labels=["camera"]
        )
        clips = CounterMetricFamily(
            "streetwatch_edge_clips", "case clips: cut, or missed (the case went without)", labels=["camera", "outcome"]
        )
        for camera in cameras:
            if camera.clip is not None:
                clip_bytes.add_metric([camera.id], camera.clip.buffer_bytes)
                clips.add_metric([camera.id, "cut"], camera.clip.cut)
                clips.add_metric([camera.id, "missed"], camera.clip.missed)
            frames.add_metric([camera.id], camera.frames_judged)
            skipped.add_metric([camera.id], camera.frames_skipped)
            fps.add_metric([camera.id], camera.fps)
            decoded.add_metric([camera.id], camera.frames_decoded)
            reconnects.add_metric([camera.id], camera.reconnects)
            up.add_metric([camera.id], 1 if camera.connected else 0)
            healthy.add_metric([camera.id], 1 if camera.healthy else 0)
            for problem, n in sorted(camera.health_events.items()):
                health_events.add_metric([camera.id, problem], n)
        cases = CounterMetricFamily(
            "streetwatch_edge_cases", "cases by outcome (filed = stored in the outbox)", labels=["violation", "outcome"]
        )
        for (violation, outcome), n in sorted(status.case_outcomes.items()):
            cases.add_metric([violation, outcome], n)
        depth = GaugeMetricFamily("streetwatch_edge_outbox_depth", "cases waiting for delivery", status.outbox_depth)
        yield from (
            frames,
            skipped,
            fps,
            decoded,
            reconnects,
            up,
            healthy,
            cases,
            health_events,
            depth,
            clip_bytes,
            clips,
        )


class EdgeMetrics:
    def __init__(self, status: Callable[[], AgentStatus]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StatusCollector(status))
        self.inference = Histogram(
            "streetwatch_edge_inference_seconds",
            "detector time per batch",
            registry=self.registry,
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
        )
        self.latency = Histogram(
            "streetwatch_edge_frame_to_decision_seconds",
            "frame arrival to rules done",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
        )
