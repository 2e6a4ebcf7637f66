"""Run the whole product on the sample clips: case service + edge agent, real processes and HTTP.

Nothing here is special-cased for the demo: the case service is `streetwatch cases serve` on an
embedded SQLite file, the agent is `streetwatch edge run` on `examples/demo/edge.yaml`, and the
cases are read back through the case service's own API.
"""

from __future__ import annotations

import shutil
import string
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from tqdm import tqdm

from streetwatch.demo import processes
from streetwatch.demo.expectations import SUMMARY_ORDER, Expectation, check, expectations_for
from streetwatch.demo.scenes import build_scene_videos
from streetwatch.edge.config import load_config
from streetwatch.errors import StreetwatchError
from streetwatch.inference.model_file import open_model

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "examples" / "demo"


@dataclass(frozen=True)
class DemoSettings:
    out: Path
    model: Path
    vending_model: Path  # stall proxies (umbrella, dining_table) come from the COCO release
    seconds: float  # length of every sample clip
    timeout_s: float  # the agent must have finished by then
    cameras: tuple[str, ...] = ()  # run only these cameras of examples/demo/edge.yaml (empty: all)


@dataclass(frozen=True)
class FiledCase:
    case_id: int
    violation: str
    camera_id: str
    confirmed_at: str
    evidence: list[Path]


def run_demo(settings: DemoSettings) -> int:
    out = settings.out
    _, info = open_model(settings.model)  # fail early, clearly, on a bad model
    clips_dir = out / "clips" / f"{settings.seconds:g}s"
    # A fresh database and agent state each run, so that the counts describe this run only.
    for stale in ("cases", "edge-state", "evidence"):
        shutil.rmtree(out / stale, ignore_errors=True)
    logs = out / "logs"
    cases_dir = out / "cases"
    port = processes.free_port()
    base_url = f"http://127.0.0.1:{port}"
    config_path = _write_edge_config(out, base_url, settings.model, clips_dir, settings.vending_model, settings.cameras)
    edge_config = load_config(config_path)
    scenes = {Path(camera.source).stem for camera in edge_config.cameras}  # the clips these cameras play
    build_scene_videos(DEMO_DIR / "images", clips_dir, settings.seconds, scenes)
    cameras = ",".join(camera.id for camera in edge_config.cameras)
    print(f"demo: model {info.name} ({settings.model}), {len(info.names)} classes")
    camera_classes = {}
    for camera in edge_config.cameras:
        if camera.model is not None:  # the vending camera: its own model, judged by its own classes
            _, own = open_model(camera.model.path)
            camera_classes[camera.id] = own.names
            print(f"demo: {camera.id} runs its own model {own.name} ({camera.model.path})")
    expected = expectations_for(edge_config, info.names, camera_classes)
    for e in expected:
        print(f"  {e.camera_id:<12} {e.violation.value:<22} expect {e.cases}: {e.reason}")

    device_token = (
        processes.run_cli(
            [
                "cases",
                "token",
                "create",
                "--data-dir",
                str(cases_dir),
                "--device",
                edge_config.device.id,
                "--cameras",
                cameras,
            ],
            what="creating the device token",
        )
        .strip()
        .splitlines()[-1]
    )
    reviewer_token = (
        processes.run_cli(
            ["cases", "token", "create", "--data-dir", str(cases_dir), "--reviewer", "demo-inspector"],
            what="creating the reviewer token",
        )
        .strip()
        .splitlines()[-1]
    )

    server = processes.start(
        ["cases", "serve", "--data-dir", str(cases_dir), "--port", str(port), "--dev"], logs / "cases.log"
    )
    agent = None
    try:
        processes.wait_healthy(f"{base_url}/healthz", server, logs / "cases.log")
        print(f"demo: case service on {base_url} (SQLite in {cases_dir})")
        agent = processes.start(
            ["edge", "run", str(config_path)], logs / "edge.log", env={"STREETWATCH_DEVICE_TOKEN": device_token}
        )
        _wait_for_agent(agent, settings, logs / "edge.log")
        filed = _fetch_cases(base_url, reviewer_token, out / "evidence")
    finally:
        if agent is not None:
            processes.stop(agent)
        processes.stop(server)
    return _summarise(filed, expected, cases_dir)


def _write_edge_config(
    out: Path, base_url: str, model: Path, clips: Path, vending_model: Path, cameras: tuple[str, ...] = ()
) -> Path:
    template = string.Template((DEMO_DIR / "edge.yaml").read_text(encoding="utf-8"))
    text = template.substitute(
        case_service_url=base_url,
        model=str(model.resolve()),
        vending_model=str(vending_model.resolve()),
        clips=str(clips.resolve()),
        state=str((out / "edge-state").resolve()),
    )
    if cameras:
        text = _only_cameras(text, cameras)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "edge.yaml"
    target.write_text(text, encoding="utf-8")
    return target


def _only_cameras(text: str, cameras: tuple[str, ...]) -> str:
    """The config with only `cameras` (by id); an unknown id is an error naming the demo's cameras."""
    import yaml

    data = yaml.safe_load(text)
    known = [camera["id"] for camera in data["cameras"]]
    unknown = [c for c in cameras if c not in known]
    if unknown:
        raise StreetwatchError(f"unknown demo camera {', '.join(unknown)}; the demo's cameras are {', '.join(known)}")
    data["cameras"] = [camera for camera in data["cameras"] if camera["id"] in cameras]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _wait_for_agent(agent: processes.subprocess.Popen[bytes], settings: DemoSettings, log: Path) -> None:
    """The agent plays the clips in real time and exits once they end and its outbox is drained.

    A progress bar on a terminal; in a log (CI, `make demo > file`) a plain line every 15 s.
    """
    start = time.monotonic()
    interactive = sys.stderr.isatty()
    last_line = 0.0
    with tqdm(
        total=round(settings.seconds),
        desc="edge agent playing the clips",
        bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s",
        disable=not interactive,
    ) as bar:
        while agent.poll() is None:
            elapsed = time.monotonic() - start
            if elapsed > settings.timeout_s:
                raise StreetwatchError(f"the edge agent did not finish within {settings.timeout_s:.0f} s; see {log}")
            bar.n = min(elapsed, settings.seconds)
            bar.refresh()
            if not interactive and elapsed - last_line >= 15:
                print(f"demo: edge agent running, {elapsed:.0f} s of {settings.seconds:.0f} s of video", flush=True)
                last_line = elapsed
            time.sleep(0.5)
        bar.n = settings.seconds
        bar.refresh()
    if agent.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise StreetwatchError(f"the edge agent exited with code {agent.returncode}: {' | '.join(tail)}")


def _fetch_cases(base_url: str, token: str, evidence_dir: Path) -> list[FiledCase]:
    headers = {"Authorization": f"Bearer {token}"}
    filed: list[FiledCase] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        cursor = None
        while True:
            response = client.get("/api/v1/cases", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            response.raise_for_status()
            page = response.json()
            for case in page["items"]:
                folder = evidence_dir / f"case-{case['id']}"
                folder.mkdir(parents=True, exist_ok=True)
                files = []
                for item in case["evidence"]:
                    target = folder / f"{item['role']}.jpg"
                    download = client.get(item["url"])
                    download.raise_for_status()
                    target.write_bytes(download.content)
                    files.append(target)
                filed.append(
                    FiledCase(case["id"], case["violation_type"], case["camera_id"], case["confirmed_at"], files)
                )
            cursor = page.get("next_cursor")
            if not cursor:
                return sorted(filed, key=lambda c: c.case_id)


def _cli_path() -> str:
    """The `streetwatch` script of this environment, relative to the working folder when inside it."""
    script = Path(sys.executable).parent / "streetwatch"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _summarise(filed: list[FiledCase], expected: list[Expectation], cases_dir: Path) -> int:
    print()
    for case in filed:
        files = ", ".join(str(p) for p in case.evidence)
        print(
            f"case {case.case_id}: {case.violation} at {case.camera_id}, "
            f"confirmed {case.confirmed_at}; evidence: {files}"
        )
    counts = Counter(c.violation for c in filed)
    breakdown = ", ".join(f"{v.value}={counts.get(v.value, 0)}" for v in SUMMARY_ORDER)
    print(f"demo: {len(filed)} cases filed ({breakdown})")
    cli = _cli_path()
    print(f"review them: {cli} cases serve --data-dir {cases_dir} --dev, then open http://127.0.0.1:8000/review")
    print(f"  (sign in with a reviewer token: {cli} cases token create --data-dir {cases_dir} --reviewer YOUR-NAME)")
    problems = check(expected, Counter((c.camera_id, c.violation) for c in filed))
    if problems:
        raise StreetwatchError("the demo did not file the expected cases:\n" + "\n".join(problems))
    return 0
