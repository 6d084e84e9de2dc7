"""The Flask application: one origin serving the authority, Graph v1.0 and the admin API."""

from __future__ import annotations

from flask import Flask

from entra_sim import adconnect_admin, admin, gateway
from entra_sim.auth import endpoints
from entra_sim.core import EXTENSION, Simulator
from entra_sim.graph import batch, directory_objects, groups, organization, skus, synchronization, users


def create_app(simulator: Simulator) -> Flask:
    app = Flask("entra_sim")
    app.extensions[EXTENSION] = simulator
    # Graph answers where it is asked: no redirects for a trailing slash or to a rule's canonical form.
    app.url_map.strict_slashes = False
    app.url_map.redirect_defaults = False
    app.json.sort_keys = False
    for module in (organization, skus, users, groups, directory_objects, batch, synchronization):
        app.register_blueprint(module.bp, url_prefix="/v1.0")
    app.register_blueprint(admin.bp, url_prefix="/_admin")
    app.register_blueprint(adconnect_admin.bp, url_prefix="/_admin/adconnect")
    app.register_blueprint(endpoints.bp)
    gateway.install(app, simulator)
    return app
