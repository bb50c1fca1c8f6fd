"""Operations: structured access logs (``access_log``), Prometheus metrics (``metrics``, served at
``/metrics`` by ``metrics_view``) and the pre-deploy checks of ``telemed check-config`` (``checks``).

``init_app`` wires the first two into an app; nothing here is imported by the features.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wrap the app's storage (storage errors are counted), add ``/metrics`` and the per-request
    middleware that times, counts and (``ACCESS_LOG``) logs every HTTP request, Socket.IO's
    included. Call after Socket.IO is initialised, so its requests pass the middleware too."""
    from telemed.ops import access_log, metrics, metrics_view
    from telemed.ops.metered_storage import MeteredStorage

    app.extensions["telemed.storage"] = MeteredStorage(app.extensions["telemed.storage"])
    metrics.init_app(app)
    metrics_view.init_app(app)
    access_log.init_app(app)
