"""What every request handler needs, built once in `create_app` and kept on `app.state.cases`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.cases.evidence import EvidenceStore
from streetwatch.cases.metrics import Metrics
from streetwatch.cases.service_codes import ServiceCatalogue
from streetwatch.cases.settings import CaseSettings


@dataclass(frozen=True)
class AppState:
    settings: CaseSettings
    engine: Engine
    sessions: sessionmaker[Session]
    store: EvidenceStore
    catalogue: ServiceCatalogue
    metrics: Metrics
    signing_key: bytes
