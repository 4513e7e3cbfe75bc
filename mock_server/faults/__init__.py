"""Fault injection (issue 3): rules, kinds, scenarios and magic values."""

from __future__ import annotations

import logging

from .engine import FaultEngine
from .lifecycle import release_holds_on_stop

__all__ = ["FaultEngine", "current_engine", "engine_of", "install", "release_holds_on_stop"]


ENGINE_KEY = "mock_server.faults"


def current_engine() -> FaultEngine:
    """The fault engine of the tenant the current control-plane request is for."""
    from ..tenancy import current_tenant

    return current_tenant().engine


def install(app, api) -> FaultEngine:
    """Make the default tenant's fault engine and register the fault admin routes."""
    from ..api.faults import blp as admin_blueprint
    from ..runtime import EXTENSION_KEY

    engine = engine_for(app.extensions[EXTENSION_KEY])
    app.extensions[ENGINE_KEY] = engine
    api.register_blueprint(admin_blueprint)
    return engine


def engine_for(runtime) -> FaultEngine:
    """A tenant's fault engine: its own rules, counters and start-up scenarios, reset with the tenant."""
    from . import scenarios

    engine = FaultEngine(max_hold_ms=runtime.settings.timeout_ms)
    startup = [name.strip() for name in runtime.settings.scenario.split(",") if name.strip()]

    def load_startup_scenarios() -> None:
        for name in startup:
            scenarios.load(engine, name, runtime.clock.now())

    def reset(clear_recordings: bool = False) -> None:
        # A reset server behaves like a fresh start: no rules but the start-up scenario's, counters at 0.
        engine.reset()
        try:
            load_startup_scenarios()
        except scenarios.ScenarioError as exc:  # the file changed since start-up: say so, keep serving
            logging.getLogger("mock_server").warning("MOCK_SCENARIO not reloaded on reset: %s", exc.message)

    try:
        load_startup_scenarios()
    except scenarios.ScenarioError as exc:
        raise SystemExit(f"MOCK_SCENARIO: {exc.message}") from None
    runtime.reset_hooks.append(reset)
    if runtime.shared_store is not None:
        from ..storage.redis_control import SharedControl

        client, keys = runtime.shared_store
        runtime.control = SharedControl(client, keys, runtime, engine, restart=reset)
        runtime.control.attach()
    return engine


def engine_of(app) -> FaultEngine:
    """The fault engine of an app (outside a request)."""
    return app.extensions[ENGINE_KEY]
