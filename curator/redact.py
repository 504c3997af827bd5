"""Secrets in URLs never reach disk: user-info and secret-looking query parameters.

An input given as `https://user:pass@host/file.warc.gz` is fetched with the credentials sent
as HTTP basic auth (`split_credentials`), and everything the run writes about it (lock file,
stats, rejected samples, documents' metadata, logs) uses `redact_input`, which replaces the
user-info with `***` and the values of query parameters named like secrets (`token`,
`signature`, `X-Amz-*`, `key`, ...). Documents' own URLs lose only their user-info
(`redact_userinfo`): their query strings are part of the page's identity.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"

_SECRET_PARAM = re.compile(
    r"^(x-amz-.*|x-goog-.*|.*(token|secret|signature|passw(or)?d|pwd|credential|session|auth).*|"
    r"(api[-_]?)?key|.*[-_]key|sig|sv|se|sp|st|skoid|sktid|code)$",
    re.I,
)
"""Query parameters whose values are secrets: AWS/GCS presigned URLs (X-Amz-*, X-Goog-*),
Azure SAS (sig, sv, se, sp, st, skoid, sktid), OAuth codes, and anything named like a
token, key, password, session or signature."""

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")
"""The user-info runs to the last '@' before the path, so an unencoded '@' in a password
is masked (and sent) whole."""


def redact_userinfo(url: str | None) -> str | None:
    """`scheme://user:pass@host/...` -> `scheme://***@host/...`; anything else unchanged."""
    if not url or "@" not in url:
        return url
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url, count=1)


def redact_input(uri: str | None) -> str | None:
    """What is written about an input: user-info and secret query values masked."""
    uri = redact_userinfo(uri)
    if not uri or "?" not in uri or "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri.split("?", 1)[0] + "?" + MASK
    pairs = []
    for item in parts.query.split("&"):
        name, eq, _ = item.partition("=")
        pairs.append(f"{name}={MASK}" if eq and _SECRET_PARAM.match(unquote(name)) else item)
    return urlunsplit(parts._replace(query="&".join(pairs)))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without user-info, (user, password) or None), for HTTP basic auth."""
    m = _USERINFO.match(url)
    if not m:
        return url, None
    user, _, password = m.group(2).partition(":")
    return m.group(1) + url[m.end():], (unquote(user), unquote(password))
