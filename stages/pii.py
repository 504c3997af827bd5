"""PII redaction: e-mail addresses, IP addresses and secrets replaced by typed placeholders.

As in StarCoder's PII pipeline, a match is replaced by a placeholder naming its type
(`<EMAIL>`, `<IPV4>`, `<IPV6>`, `<PRIVATE_KEY>`, `<AWS_ACCESS_KEY>`, ...), and nothing else in
the text changes: the redacted text is the original with each matched span swapped for its
placeholder. Secrets are looked for in code documents only (`secret_kinds`), where keys and
tokens are pasted; e-mails and IPs in every document the stage applies to. Private,
loopback and documentation IP ranges are left alone by default (they identify nobody).

The stage never drops a document: it rewrites `text` and counts redactions per type in
`pii_<type>` columns; the phase totals of those columns are the per-type counters.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

import pyarrow as pa

from stages.base import Stage, StageSettings

EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")

SECRETS: dict[str, re.Pattern] = {
    "PRIVATE_KEY": re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        re.DOTALL,
    ),
    "AWS_ACCESS_KEY": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])"),
    # Only with its name before it: a bare 40-character base64 string is too common.
    "AWS_SECRET_KEY": re.compile(
        r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    ),
    "GITHUB_TOKEN": re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])"),
    "SLACK_TOKEN": re.compile(r"(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10,100}"),
    "GOOGLE_API_KEY": re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),
    "STRIPE_KEY": re.compile(r"(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,99}(?![A-Za-z0-9_])"),
    "JWT": re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
TYPES = ("EMAIL", "IPV4", "IPV6", *SECRETS)


def _public_ip(s: str, keep_private: bool) -> bool:
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    if not keep_private:
        return True
    return not (ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_link_local
                or ip.is_multicast or ip.is_reserved)


def find_pii(text: str, secrets: bool = True, keep_private_ips: bool = True) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans, sorted; a secret wins over what it contains.
    A pattern with a group redacts only the group (the key's value, not its name)."""
    spans: list[tuple[int, int, str]] = []
    if secrets:
        for kind, rx in SECRETS.items():
            spans += [(*m.span(m.lastindex or 0), kind) for m in rx.finditer(text)]
    spans += [(m.start(), m.end(), "EMAIL") for m in EMAIL.finditer(text)]
    if "." in text:
        spans += [(m.start(), m.end(), "IPV4") for m in IPV4.finditer(text)
                  if _public_ip(m.group(), keep_private_ips)]
    if "::" in text or text.count(":") >= 7:
        spans += [(m.start(), m.end(), "IPV6") for m in IPV6.finditer(text)
                  if ":" in m.group() and _public_ip(m.group(), keep_private_ips)]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, str]] = []
    for s in spans:
        if not out or s[0] >= out[-1][1]:
            out.append(s)
    return out


def redact(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each span replaced by `<TYPE>`; everything between spans is unchanged."""
    parts, pos = [], 0
    for start, end, kind in spans:
        parts += [text[pos:start], f"<{kind}>"]
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


class PiiRedaction(Stage):
    """Redacts, never drops. Columns: `pii_<type>` = redactions of that type in the document."""

    name = "pii"

    class Settings(StageSettings):
        types: list[str] = list(TYPES)
        """Types to redact (a subset of EMAIL, IPV4, IPV6 and the secret types)."""
        secret_kinds: list[str] = ["code"]
        """Document kinds (`kind` column) in which secrets are looked for."""
        keep_private_ips: bool = True
        """Leave private, loopback, link-local, documentation and reserved addresses as they are."""

    columns = {f"pii_{t.lower()}": pa.int64() for t in TYPES}

    settings: Settings

    def __init__(self, settings=None):
        super().__init__(settings)
        unknown = sorted(set(self.settings.types) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown PII types {unknown}; known: {', '.join(TYPES)}")
        self._types = set(self.settings.types)

    def score_batch(self, docs: pa.Table) -> dict[str, list]:
        out: dict[str, list] = {name: [] for name in self.columns}
        out["text"] = []
        secret_kinds = set(self.settings.secret_kinds)
        for text, kind in zip(docs.column("text").to_pylist(), docs.column("kind").to_pylist()):
            text = text or ""
            spans = [s for s in find_pii(text, kind in secret_kinds, self.settings.keep_private_ips)
                     if s[2] in self._types]
            counts = dict.fromkeys(TYPES, 0)
            for _, _, t in spans:
                counts[t] += 1
            for t in TYPES:
                out[f"pii_{t.lower()}"].append(counts[t])
            out["text"].append(redact(text, spans) if spans else text)
        return out

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        return [None] * docs.num_rows
