"""Case-insensitive /v3 method names, as Google's own skeleton routes them."""

from __future__ import annotations


class CaseInsensitiveV3:
    """WSGI middleware: /v3/createbooking reaches /v3/CreateBooking (one dict lookup, /v3 only)."""

    def __init__(self, app, url_map):
        self.app = app
        self.url_map = url_map
        self._canonical: dict[str, str] | None = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:4].lower() == "/v3/":
            canonical = self._paths().get(path.rstrip("/").lower())
            if canonical is not None and not path.startswith(canonical):
                environ["PATH_INFO"] = canonical + ("/" if path.endswith("/") else "")
        return self.app(environ, start_response)

    def _paths(self) -> dict[str, str]:
        # Built lazily: blueprints are registered after the middleware is created in some setups.
        if self._canonical is None:
            self._canonical = {
                rule.rule.rstrip("/").lower(): rule.rule.rstrip("/")
                for rule in self.url_map.iter_rules() if rule.rule.startswith("/v3/")
            }
        return self._canonical
