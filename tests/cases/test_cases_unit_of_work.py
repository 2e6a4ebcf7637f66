"""One unit of work per request, observed on the real engine of a service running in this process
(uvicorn on 127.0.0.1, SQLite and PostgreSQL): transactions, replay look-ups, upload hashing.

A filing is the one request whose read-only caller lookup is ended before its body is read
(`deps.end_reads`): an upload must not hold a pooled connection; its writes are one transaction."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from case_builders import images_for_case, post_case, report
from live_server import make_token
from sqlalchemy import event

from streetwatch.cases.app import create_app
from streetwatch.cases.settings import CaseSettings, load_settings, startup_signing_key
from streetwatch.errors import ConfigError


@dataclass
class Recorder:
    """What the engine did since the last `clear()`: transactions begun, and each statement with the
    number of the transaction it ran in."""

    begins: int = 0
    statements: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.begins, self.statements = 0, []

    def replay_lookups(self) -> int:
        return len(self.transactions_of("FROM cases", "cases.event_id ="))

    def transactions_of(self, *words: str) -> list[int]:
        """The transaction number of each statement containing all `words`."""
        return [n for n, s in self.statements if all(w in s for w in words)]


@dataclass
class InProcess:
    base_url: str
    db_url: str
    recorder: Recorder
    reviewer: str


@pytest.fixture(scope="module")
def in_process(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    workdir = tmp_path_factory.mktemp("in-process")
    settings = load_settings(
        database_url=db_url, evidence_dir=workdir / "evidence", secret_key="k" + uuid.uuid4().hex + uuid.uuid4().hex
    )
    app = create_app(settings)
    engine = app.state.cases.engine
    recorder = Recorder()

    def on_begin(_connection) -> None:  # type: ignore[no-untyped-def]
        with recorder.lock:
            recorder.begins += 1

    def on_statement(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        with recorder.lock:
            recorder.statements.append((recorder.begins, statement))

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the in-process case service did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield InProcess(f"http://127.0.0.1:{port}", db_url, recorder, make_token(db_url, "reviewer", "carol"))
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        engine.dispose()


def test_a_filing_is_one_transaction_with_one_replay_lookup_and_each_upload_hashed_once(
    in_process: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streetwatch.cases.api.cases as routes
    import streetwatch.cases.evidence as evidence
    import streetwatch.cases.service as service

    hashed: list[int] = []
    digests: list[str] = []
    real_sha, real_digest = evidence.sha256_hex, service.report_digest

    def counting_sha(data: bytes) -> str:  # the real hash, counted
        hashed.append(len(data))
        return real_sha(data)

    def counting_digest(report):  # type: ignore[no-untyped-def]
        digests.append(str(report.event_id))
        return real_digest(report)

    for module in (routes, evidence):
        monkeypatch.setattr(module, "sha256_hex", counting_sha)
    monkeypatch.setattr(service, "report_digest", counting_digest)
    device, camera = f"edge-{uuid.uuid4().hex[:8]}", f"cam-{uuid.uuid4().hex[:8]}"
    token = make_token(in_process.db_url, "device", device, [camera])
    images = images_for_case(seed=41)
    body = report(device, camera, images)
    recorder = in_process.recorder
    with httpx.Client(base_url=in_process.base_url, timeout=30) as client:
        recorder.clear()
        first = post_case(client, token, body, list(images.values()))
        assert first.status_code == 201, first.text
        # The token is looked up and that read ends before the upload is read (no connection waits on a
        # client); then the replay look-up, the case and its audit event are one transaction.
        assert recorder.begins == 2
        assert recorder.transactions_of("FROM api_tokens") == [1]
        assert recorder.transactions_of("cases.event_id =") == [2]
        assert recorder.transactions_of("INSERT INTO cases") == [2]
        assert recorder.transactions_of("INSERT INTO case_events") == [2]
        assert recorder.replay_lookups() == 1
        assert len(hashed) == len(images) and digests == [body["event_id"]]
        recorder.clear()
        hashed.clear()
        replay = post_case(client, token, body, list(images.values()))
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
        assert recorder.begins == 2 and recorder.replay_lookups() == 1 and len(hashed) == len(images)
        assert not recorder.transactions_of("INSERT")


def test_a_transition_reads_checks_and_writes_in_one_transaction(in_process: InProcess) -> None:
    device, camera = f"edge-{uuid.uuid4().hex[:8]}", f"cam-{uuid.uuid4().hex[:8]}"
    token = make_token(in_process.db_url, "device", device, [camera])
    images = images_for_case(seed=42)
    headers = {"Authorization": f"Bearer {in_process.reviewer}"}
    with httpx.Client(base_url=in_process.base_url, timeout=30) as client:
        case = post_case(client, token, report(device, camera, images), list(images.values())).json()
        in_process.recorder.clear()
        accepted = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "accepted"}, headers=headers)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted" and accepted.json()["history"][-1]["to_status"] == "accepted"
        assert in_process.recorder.begins == 1
        # A refused transition writes nothing: the case and its history are as they were.
        again = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "reported"}, headers=headers)
        assert again.status_code == 409
        after = client.get(f"/api/v1/cases/{case['id']}", headers=headers).json()
    assert after["status"] == "accepted" and len(after["history"]) == 2


def test_the_signing_key_is_chosen_at_start_and_reading_it_changes_nothing(tmp_path: Path) -> None:
    dev = CaseSettings(dev_mode=True, data_dir=tmp_path)
    first, second = startup_signing_key(dev), startup_signing_key(dev)
    assert len(first) >= 32 and first != second  # a fresh key per process start
    assert dev.secret_key is None  # the settings were not written to
    with pytest.raises(ConfigError, match="no secret_key"):
        dev.signing_key()
    configured = CaseSettings(secret_key="s" + uuid.uuid4().hex + uuid.uuid4().hex, data_dir=tmp_path)
    assert startup_signing_key(configured) == configured.signing_key() == startup_signing_key(configured)
