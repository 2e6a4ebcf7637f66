"""What every request handler needs, built once in `create_app` and kept on `app.state.cases`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.cases.evidence import EvidenceStore
from streetwatch.cases.evidence_sweep import EvidenceSweeper
from streetwatch.cases.metrics import Metrics
from streetwatch.cases.service import CaseRules
from streetwatch.cases.service_codes import ServiceCatalogue
from streetwatch.cases.settings import CaseSettings
from streetwatch.cases.workflow import Workflow


@dataclass(frozen=True)
class AppState:
    settings: CaseSettings
    engine: Engine
    sessions: sessionmaker[Session]
    store: EvidenceStore
    catalogue: ServiceCatalogue
    workflow: Workflow
    metrics: Metrics
    signing_key: bytes
    sweeper: EvidenceSweeper

    @property
    def rules(self) -> CaseRules:
        return CaseRules(self.catalogue, self.workflow, forward=self.settings.forward_url is not None)
