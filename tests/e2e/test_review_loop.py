"""The review loop end to end, in one test: what reviewers say becomes exactly what the model learns.

Real processes on 127.0.0.1: `streetwatch cases serve` and `streetwatch edge run` (shipped street
model) file one case per camera; reviewers accept (one with box edits, including a drawn `stall`)
and reject with each reason through the HTTP API; then the ML team's commands run as a user runs
them: `cases export` -> `data from-cases` -> `data build` (which first refuses the tiny `stall`
class, then trains it when told) -> `train` (1 epoch, a scratch YOLOv8n at 64 px, CPU) -> `export`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from streetwatch.demo.processes import free_port, wait_healthy
from streetwatch.demo.scenes import SCENES, write_clip
from streetwatch.models.registry import default_model_path, load_release

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
DEMO_IMAGES = REPO / "examples" / "demo" / "images"
TEST_SOURCES = REPO / "tests" / "data" / "datasets"
MAPPINGS = REPO / "datasets" / "mappings"
CAMERAS = ["cam-accept", "cam-edit", "cam-false", "cam-permitted", "cam-duplicate", "cam-broken"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "streetwatch", *args]


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(*args), capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[tuple[str, str, str, Path]]:
    """A live case service on SQLite: (base_url, device token, reviewer token, data dir)."""
    data = tmp_path / "cases"

    def token(*args: str) -> str:
        out = _run("cases", "token", "create", "--data-dir", str(data), *args)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    device = token("--device", "box-1", "--cameras", ",".join(CAMERAS))
    reviewer = token("--reviewer", "inspector")
    port = free_port()
    log = tmp_path / "cases.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            _cli("cases", "serve", "--data-dir", str(data), "--port", str(port), "--dev"), stdout=sink, stderr=sink
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", server, log)
        yield f"http://127.0.0.1:{port}", device, reviewer, data
    finally:
        server.terminate()
        server.wait(20)


def _clips(folder: Path) -> dict[str, Path]:
    """One parking clip per camera, each a little brighter: every case has its own frame."""
    folder.mkdir()
    clips = {}
    for k, camera in enumerate(CAMERAS):
        frames = (
            np.clip(f.astype(np.int16) + 4 * k, 0, 255).astype(np.uint8)
            for f in SCENES["parking"].frames(DEMO_IMAGES, 16.0)
        )
        clips[camera] = folder / f"{camera}.mp4"
        write_clip(frames, clips[camera])
    return clips


def _edge_config(tmp_path: Path, url: str, clips: dict[str, Path]) -> Path:
    cameras = [
        {
            "id": camera,
            "source": str(clip),
            "realtime": False,
            "sample_fps": 1.0,
            "location": {"lat": 31.2286, "lon": 121.4452, "address": f"Loop Rd {k}", "grid_code": "t-1"},
            "health": {"frozen_after_s": None},
            "zones": [
                {"id": "curb", "type": "no_parking", "polygon": [[300, 450], [640, 450], [640, 641], [300, 641]]}
            ],
        }
        for k, (camera, clip) in enumerate(clips.items())
    ]
    config = {
        "device": {"id": "box-1", "token_env": "STREETWATCH_DEVICE_TOKEN", "case_service_url": url},
        "model": {"path": str(default_model_path()), "conf": 0.3, "threads": 2},
        "rules": {"time_scale": 0.02, "illegal_parking": {"max_gap_s": 250}},
        "cameras": cameras,
        "storage": {"root": str(tmp_path / "edge-state"), "max_bytes": 104857600},
        "sender": {"backoff_initial_s": 0.3, "backoff_max_s": 1},
        "api": {"port": 0},
        "stop_when_sources_end": True,
        "drain_timeout_s": 15,
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# The reviewed cases join an existing source (three garbage-cn photos). The six case frames are one
# street, so dedupe keeps them in one split; the photos give the other splits something.
RECIPE = """
name: loop
data_root: {root}
sources:
  - name: garbage-cn
    path: {shared}/garbage-cn
    mapping: {mappings}/garbage-cn.yaml
  - name: cases
    path: cases-source
    mapping: {root}/cases-source/mapping.yaml
split:
  ratios: [0.6, 0.2, 0.2]
classes:
  min_instances: 1
  train: [car, stall]
"""


def test_reviewed_cases_teach_exactly_what_the_verdicts_say(
    tmp_path: Path, service: tuple[str, str, str, Path]
) -> None:
    url, device_token, reviewer_token, data = service
    env = {**os.environ, "STREETWATCH_DEVICE_TOKEN": device_token}
    edge = _run("edge", "run", str(_edge_config(tmp_path, url, _clips(tmp_path / "clips"))), env=env, timeout=300)
    assert edge.returncode == 0, edge.stdout[-2000:] + edge.stderr[-2000:]

    reviewer = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {reviewer_token}"}, timeout=30)
    cases = {c["camera_id"]: c for c in reviewer.get("/api/v1/cases", params={"limit": 50}).json()["items"]}
    assert sorted(cases) == sorted(CAMERAS), "one parking case per camera"
    filed = {cam: [(d["class"], tuple(d["box"])) for d in c["detections"]] for cam, c in cases.items()}
    assert all(any(cls == "car" for cls, _ in dets) for dets in filed.values())

    def act(camera: str, body: dict) -> None:
        response = reviewer.post(f"/api/v1/cases/{cases[camera]['id']}/transitions", json=body)
        assert response.status_code == 200, response.text

    # Accepted as filed; accepted with the car box corrected and a stall drawn (and reclassified).
    act("cam-accept", {"to": "accepted"})
    car_k, (_, car_box) = next((k, d) for k, d in enumerate(filed["cam-edit"]) if d[0] == "car")
    moved = [car_box[0] + 5, car_box[1], car_box[2], car_box[3]]
    stall = [20.0, 380.0, 180.0, 600.0]
    edit = {"boxes": [{"class": "car", "box": moved, "detection": car_k}, {"class": "stall", "box": stall}]}
    assert reviewer.put(f"/api/v1/cases/{cases['cam-edit']['id']}/boxes", json=edit).status_code == 200
    act("cam-edit", {"to": "accepted", "violation_type": "occupied_lane_vending"})
    # One rejection per reason.
    act("cam-false", {"to": "rejected", "reject_code": "false_detection", "reason": "a shadow, no car"})
    act("cam-permitted", {"to": "rejected", "reject_code": "not_a_violation", "reason": "loading bay permit"})
    act("cam-duplicate", {"to": "rejected", "reject_code": "duplicate"})
    act("cam-broken", {"to": "rejected", "reject_code": "camera_problem", "reason": "lens fogged"})
    history = reviewer.get(f"/api/v1/cases/{cases['cam-edit']['id']}").json()["history"]
    assert [(h["action"], h["actor"]) for h in history] == [
        ("filed", "box-1"),
        ("boxes", "inspector"),
        ("transition", "inspector"),
    ]
    reviewer.close()

    export = tmp_path / "export"
    out = _run("cases", "export", "--data-dir", str(data), "--status", "accepted,rejected", "--out", str(export))
    assert out.returncode == 0, out.stderr
    source = tmp_path / "data" / "cases-source"
    out = _run("data", "--no-progress", "from-cases", str(export), "--out", str(source))
    assert out.returncode == 0, out.stderr
    assert "left out: 1 camera problem" in out.stdout

    recipe = tmp_path / "loop.yaml"
    recipe.write_text(RECIPE.format(root=tmp_path / "data", shared=TEST_SOURCES, mappings=MAPPINGS))
    built = tmp_path / "built"
    out = _run("data", "--no-progress", "build", str(recipe), "--out", str(built))
    if out.returncode != 0:  # the one stall box fell in val: the build refuses it until told
        assert "refusing to train classes with fewer than 1 train-split boxes: stall: 0" in out.stderr
        out = _run("data", "--no-progress", "build", str(recipe), "--out", str(built), "--allow-small-class", "stall")
    assert out.returncode == 0, out.stderr
    assert "| stall |" in out.stdout and "| car |" in out.stdout  # per-class human/machine counts

    # The dataset holds exactly the labels the verdicts imply.
    items = [json.loads(line) for line in (built / "dataset" / "items.jsonl").read_text().splitlines()]
    by_camera = {i["group"].split(":", 1)[1]: i for i in items if i["source"] == "cases"}
    assert sorted(by_camera) == sorted(set(CAMERAS) - {"cam-broken"})

    def labels(camera: str) -> list[tuple[str, list[float], str]]:
        return sorted((b["cls"], [round(v, 1) for v in b["xyxy"]], b["origin"]) for b in by_camera[camera]["boxes"])

    def as_filed(camera: str) -> list[tuple[str, list[float], str]]:
        return sorted((c, [round(v, 1) for v in box], "machine") for c, box in filed[camera])

    assert labels("cam-accept") == as_filed("cam-accept")
    assert labels("cam-permitted") == as_filed("cam-permitted")
    assert labels("cam-duplicate") == as_filed("cam-duplicate")
    assert labels("cam-edit") == sorted([("car", [round(v, 1) for v in moved], "human"), ("stall", stall, "human")])

    def ruled_out(camera: str) -> list[tuple[str, list[float]]]:
        return sorted((r["cls"], [round(v, 1) for v in r["xyxy"]]) for r in by_camera[camera]["ruled_out"])

    def regions(dets: list[tuple[str, tuple[float, ...]]]) -> list[tuple[str, list[float]]]:
        return sorted((c, [round(v, 1) for v in box]) for c, box in dets)

    # A false detection rules out the model's own boxes (their regions, for their classes), and so does
    # a box the reviewer deleted; nothing is ruled out image-wide.
    assert labels("cam-false") == [] and ruled_out("cam-false") == regions(filed["cam-false"])
    assert ruled_out("cam-edit") == regions([d for k, d in enumerate(filed["cam-edit"]) if k != car_k])
    assert all(ruled_out(cam) == [] for cam in ("cam-accept", "cam-permitted", "cam-duplicate"))
    assert not any(i["hard_negative"] for i in by_camera.values())  # no verdict makes a frame background
    assert all(i["labelled"] == [] for i in by_camera.values())
    names = yaml.safe_load((built / "data.yaml").read_text())["names"]
    assert list(names.values()) == ["car", "stall"]
    # ... and so do the YOLO label files training reads (ids into names).
    label_files = {p.stem: p.read_text().splitlines() for p in (built / "labels").rglob("cases__*.txt")}
    ids = sorted(line.split()[0] for lines in label_files.values() for line in lines)
    n_cars = sum(1 for cam in ("cam-accept", "cam-permitted", "cam-duplicate") for c, _ in filed[cam] if c == "car")
    assert ids == sorted(["0"] * (n_cars + 1) + ["1"])

    runs = tmp_path / "runs"
    out = _run(
        "train", "--data", str(built / "data.yaml"), "--base", "yolov8n.yaml", "--epochs", "1", "--imgsz", "64",
        "--batch", "4", "--workers", "0", "--project", str(runs), "--name", "loop",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    releases = tmp_path / "releases"
    out = _run("export", str(runs / "loop"), "--name", "loop", "--version", "0.0.1", "--releases-dir", str(releases))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    release = load_release(releases / "loop")
    assert release.classes == ("car", "stall")
