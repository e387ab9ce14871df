"""What every route and page works with: the settings, the store, the model being
served, the policies (flagging; linkage, whose thresholds the pages judge a record's
link by; monitoring, which judges each batch's checks), and the bound on scoring work
(the budget of events in flight). One ``Service`` per app, made by
serving.app.create_app; routes and pages reach it through their own dependencies."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.requests import Request

from features.deployment import Deployment
from features.linkage.policy import LinkagePolicy, load_linkage_policy
from models.flagging import FlaggingPolicy
from models.monitoring import MonitoringPolicy, load_monitoring_policy
from serving.budget import EventBudget
from serving.champion import Champion, Served
from serving.settings import Settings


class Service:
    """The service's state, shared by the API and the pages."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        champion: Champion,
        flagging: FlaggingPolicy,
        deployment: Deployment,
        linkage: LinkagePolicy | None = None,
        monitoring: MonitoringPolicy | None = None,
    ) -> None:
        self.settings, self.engine, self.champion = settings, engine, champion
        self.flagging, self.deployment = flagging, deployment
        self.linkage = linkage or load_linkage_policy(None)
        self.monitoring = monitoring or load_monitoring_policy(None)
        self.budget = EventBudget(settings.max_events_in_flight)

    def served(self) -> Served:
        """The model serving now; ModelUnavailableError (not ready) when none is."""
        return self.champion.current()


def service_of(request: Request) -> Service:
    """The app's Service (serving.app.create_app keeps it in the app's state)."""
    service: Service = request.app.state.service
    return service


def client_of(request: Request) -> str | None:
    """The client's address, as the audit and the throttle record it."""
    return request.client.host if request.client else None
