"""Route table: methods and path patterns with {name} parameters, mapped to handlers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def compile_pattern(pattern: str) -> re.Pattern:
    """Turn '/items/{item_id}' into a regex with one named group per parameter."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts = []
    pos = 0
    for m in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        parts.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(parts) + "$")


@dataclass
class Route:
    method: str
    pattern: str
    handler: Callable
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        self.method = self.method.upper()
        self.regex = compile_pattern(self.pattern)

    def match(self, method: str, path: str) -> Optional[dict]:
        if method.upper() != self.method:
            return None
        m = self.regex.match(path)
        return m.groupdict() if m else None


class Router:
    def __init__(self):
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Callable) -> None:
        self.routes.append(Route(method, pattern, handler))

    def route(self, method: str, pattern: str):
        def decorator(handler):
            self.add(method, pattern, handler)
            return handler

        return decorator

    def get(self, pattern: str):
        return self.route("GET", pattern)

    def post(self, pattern: str):
        return self.route("POST", pattern)

    def resolve(self, method: str, path: str):
        """(handler, params) for the first matching route, (None, {}) when no route matches.

        A path that only matches under another method gives (None, None), so that the server
        can answer 405 instead of 404.
        """
        other_method = False
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route.handler, params
            if route.regex.match(path):
                other_method = True
        return None, (None if other_method else {})
