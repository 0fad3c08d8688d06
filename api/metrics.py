"""``GET /metrics``: the Prometheus metrics (:mod:`core.metrics`), for a scraper.

With ``SUPPORT_METRICS_TOKEN`` set every client must send it as a bearer token. Without it only loopback clients
are served, and a request relayed by a proxy (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``) never counts as
one: behind a reverse proxy on the same host, every visitor would otherwise look local.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, HTTPException, Request, Response

from api.deps import RuntimeDep, client_address
from api.route_limits import limit
from core.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])
_RELAYED = ("forwarded", "x-forwarded-for", "x-real-ip")


def _is_loopback(request: Request) -> bool:
    if any(header in request.headers for header in _RELAYED):
        return False
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


def _check_access(request: Request, token: str | None) -> None:
    """401 without the right bearer token when one is set; 403 for a client that is not local when none is."""
    if token is None:
        if not _is_loopback(request):
            raise HTTPException(403, "metrics are served to loopback clients only: set SUPPORT_METRICS_TOKEN to "
                                     "scrape from elsewhere")
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "send the metrics token: `Authorization: Bearer <SUPPORT_METRICS_TOKEN>`",
                            headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", dependencies=[limit("metrics")], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}})
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Turns, first-text latency, node, tool and model timings, guardrail hits, handoffs and the turn queue, in
    the Prometheus text format (no customer text or ids)."""
    token = runtime.settings.metrics_token
    _check_access(request, token.get_secret_value() if token else None)
    return Response(exposition(), media_type=CONTENT_TYPE)
