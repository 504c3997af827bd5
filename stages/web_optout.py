"""Web opt-outs: pages whose site or page said "not for AI training" when they were fetched.

Rules (`web_optout.<rule>`), checked in this order; those listed in `drop` drop the page, the
others only tag it (column `optout_rules` lists every rule a page meets, dropped or not):
- `robots_<agent>` (or `robots_any` with `robots_reason: any`): the site's robots.txt, as
  captured (Common Crawl's robotstxt/ WARC files, `robots_warcs`), does not allow the first of
  `user_agents` it forbids to fetch the page's URL. Parsed by `protego` (RFC 9309, Google's
  matching of wildcards and the longest rule); an agent without its own group follows `*`, as
  that crawler would. Which capture applies and what 3xx/4xx/5xx captures mean: see
  stages/robots_captures.py. Without `robots_warcs` this rule is not checked.
- `tdm_reservation`: the W3C TDM Reservation Protocol's `tdm-reservation: 1`, from the HTTP
  header or, without one, the page's meta tag (the site-wide /.well-known/tdmrep.json is not
  read).
- `noai` / `noimageai`: an `X-Robots-Tag` header or robots meta tag of the page with that
  directive, addressed to all robots or to one of `user_agents` ("GPTBot: noai",
  `<meta name="CCBot" content="noai">`). `noimageai` is about images and only tags by default.

The page-level signals are recorded at extraction (stages/optout_signals.py), so WET inputs
(no headers, no HTML) are judged by robots.txt only. Before the annotate phase the pipeline
reads the robots.txt captures once and keeps those of the run's hosts (`prepare`); after it,
`phase_stats` counts pages per rule and the domains with most opt-outs per rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from stages.base import AssetPath, Stage, StageSettings
from stages.robots_captures import RobotsRules, build_rules, expand_paths

Rule = Literal["robots", "tdm_reservation", "noai", "noimageai"]
RULE_ORDER = ("robots", "tdm_reservation", "noai", "noimageai")
AI_AGENTS = [
    "GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai", "Applebot-Extended",
    "meta-externalagent", "Bytespider", "cohere-training-data-crawler", "Diffbot",
]
"""Crawlers that collect for AI training, by the user-agent tokens their operators document."""
_VALUED = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
"""X-Robots-Tag directives written `name: value`, which are not `agent: directives`."""
_PREFIX = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*:\s*(.*)$", re.S)
_TOKENS = re.compile(r"[\s,]+")


def agent_rule(agent: str) -> str:
    """`robots_<agent>` with the agent lower-cased, other characters as `_` (robots_google_extended)."""
    return "robots_" + (re.sub(r"[^a-z0-9]+", "_", agent.lower()).strip("_") or "agent")


def directives(x_robots_tag: str | None, robots_meta: str | None, agents: frozenset[str]) -> set[str]:
    """Lower-cased robots directives that address all robots or one of `agents` (lower-case)."""
    found: set[str] = set()
    for line in (x_robots_tag or "").splitlines():
        m = _PREFIX.match(line)
        agent, value = (m.group(1).lower(), m.group(2)) if m and m.group(1).lower() not in _VALUED else (None, line)
        if agent is None or agent in agents:
            found.update(t.lower() for t in _TOKENS.split(value) if t)
    for line in (robots_meta or "").splitlines():
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "robots" or name in agents:
            found.update(t.lower() for t in _TOKENS.split(value) if t)
    return found


class WebOptOut(Stage):
    """Rules: robots_<agent> (or robots_any), tdm_reservation, noai, noimageai."""

    name = "web_optout"

    class Settings(StageSettings):
        user_agents: list[str] = Field(default_factory=lambda: list(AI_AGENTS), min_length=1, max_length=100)
        """The crawlers whose opt-outs count, by user-agent token; robots.txt is checked for
        each, in this order (the first one forbidden names the drop reason)."""
        robots_warcs: list[AssetPath] = []
        """robots.txt capture WARC files (globs, or URIs), e.g. Common Crawl's
        crawl-data/CC-MAIN-.../segments/*/robotstxt/*.warc.gz of the pages' snapshot."""
        drop: list[Rule] = ["robots", "tdm_reservation", "noai"]
        """Rules that drop a page; the others only tag it (`optout_rules`)."""
        robots_reason: Literal["per_agent", "any"] = "per_agent"
        """per_agent: `robots_<agent>` names the first forbidden agent; any: `robots_any`."""
        unreachable_robots: Literal["disallow", "allow"] = "disallow"
        """A robots.txt answered with 5xx or not at all: everything disallowed (RFC 9309) or allowed."""
        max_robots_bytes: int = Field(default=512 << 10, ge=1024, le=16 << 20)
        """Bytes of one robots.txt read (RFC 9309: at least 500 KiB); the rest is ignored."""
        top_domains: int = Field(default=20, ge=1, le=1000)
        """Domains listed per rule in the stats."""
        rules_file: AssetPath | None = None
        """The run's robots.txt captures; set by the pipeline (`prepare`), not in manifests."""

        @field_validator("user_agents")
        @classmethod
        def _tokens(cls, v: list[str]) -> list[str]:
            for a in v:
                if not re.fullmatch(r"[A-Za-z0-9_.*-]{1,64}", a):
                    raise ValueError(f"{a!r} is not a user-agent token (letters, digits, '-', '_', '.')")
            return v

    columns = {"optout_rules": pa.list_(pa.string()), "optout_robots_capture": pa.string()}

    settings: Settings

    # -- the driver's part ------------------------------------------------------------------
    @classmethod
    def input_files(cls, settings: Settings) -> list[str]:
        """The robots.txt captures, whose state is part of the annotate phase's fingerprint."""
        return expand_paths(settings.robots_warcs)

    @classmethod
    def prepare(cls, settings: Settings, spark, df, work_dir: Path) -> tuple[Settings, dict[str, Any]]:
        """The captures of the hosts of `df` (the documents entering the phase, of this stage's
        domains) as one rules file under `work_dir`; the settings that point at it, and counts."""
        from pyspark.sql import functions as F

        if not settings.robots_warcs:
            return settings, {"robots_files": 0}
        if settings.domains is not None:
            df = df.where(F.col("domain").isin(settings.domains))
        urls = df.select("url").where(F.col("url").isNotNull())
        path, info = build_rules(spark, expand_paths(settings.robots_warcs), urls, settings.max_robots_bytes, work_dir)
        return settings.model_copy(update={"rules_file": str(path)}), info

    @classmethod
    def phase_stats(cls, df, settings: list[Settings]) -> dict[str, Any]:
        """Pages checked, per rule pages met and dropped, and per rule the domains with most
        pages (web domain: the page's host without `www.`), from the phase's written rows."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        top = max(s.top_domains for s in settings)
        checked = df.where(F.col("optout_rules").isNotNull())
        totals = checked.agg(F.count(F.lit(1)).alias("pages"),
                             F.count("optout_robots_capture").alias("robots")).collect()[0]
        site = F.coalesce(F.col("meta")["domain_name"], _host_expr(F), F.lit("-"))
        per = (checked.select(site.alias("site"), F.explode("optout_rules").alias("rule"), "drop_reason")
               .groupBy("rule", "site")
               .agg(F.count(F.lit(1)).alias("pages"),
                    F.sum((F.col("drop_reason") == F.concat(F.lit(f"{cls.name}."), "rule")).cast("long"))
                    .alias("dropped")))
        rules = {r["rule"]: {"pages": r["pages"], "dropped": r["dropped"] or 0, "sites": r["sites"], "top_domains": []}
                 for r in per.groupBy("rule").agg(F.sum("pages").alias("pages"), F.sum("dropped").alias("dropped"),
                                                  F.count(F.lit(1)).alias("sites")).collect()}
        rank = F.row_number().over(Window.partitionBy("rule").orderBy(F.desc("pages"), "site"))
        for r in per.withColumn("n", rank).where(F.col("n") <= top).orderBy("rule", "n").collect():
            rules[r["rule"]]["top_domains"].append({"domain": r["site"], "pages": r["pages"], "dropped": r["dropped"] or 0})
        return {"pages_checked": totals["pages"], "pages_with_robots_capture": totals["robots"],
                "rules": dict(sorted(rules.items()))}

    # -- the executors' part -----------------------------------------------------------------
    @cached_property
    def robots(self):
        return RobotsRules(self.settings.rules_file) if self.settings.rules_file else None

    @cached_property
    def _agents(self) -> frozenset[str]:
        return frozenset(a.lower() for a in self.settings.user_agents)

    def score_batch(self, docs: pa.Table) -> dict[str, list]:
        metas = docs.column("meta").to_pylist()
        urls = docs.column("url").to_pylist()
        rules_out, captures = [], []
        for url, meta in zip(urls, metas):
            meta = dict(meta or ())
            found, capture = self._rules(url, meta)
            rules_out.append(found)
            captures.append(capture)
        return {"optout_rules": rules_out, "optout_robots_capture": captures}

    def _rules(self, url: str | None, meta: dict[str, str]) -> tuple[list[str], str | None]:
        found: list[str] = []
        capture = None
        robots = self.robots
        if robots is not None and url:
            i = robots.capture(url, meta.get("warc_date"))
            if i is not None:
                capture = f"{robots.when(i)} {robots.meaning(i)}"
                try:
                    denied = robots.disallowed(i, url, self.settings.user_agents, self.settings.unreachable_robots)
                except Exception:  # a robots.txt protego cannot read: no verdict
                    denied, capture = [], f"{robots.when(i)} unreadable"
                if denied:
                    found.append("robots_any" if self.settings.robots_reason == "any" else agent_rule(denied[0]))
                    found.extend(agent_rule(a) for a in denied[1:] if self.settings.robots_reason == "per_agent")
        if (meta.get("tdm_reservation") or "").strip() == "1":
            found.append("tdm_reservation")
        said = directives(meta.get("x_robots_tag"), meta.get("robots_meta"), self._agents)
        found.extend(r for r in ("noai", "noimageai") if r in said)
        return found, capture

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        drop = set(self.settings.drop)
        out: list[str | None] = []
        for found in scores.get("optout_rules", [None] * docs.num_rows):
            rule = None
            for r in found or ():
                if (r.split("_", 1)[0] if r.startswith("robots_") else r) in drop:
                    rule = r
                    break
            out.append(rule)
        return out


def _host_expr(F):
    """The page's host name from the row's meta, or from its URL when meta has none."""
    return F.coalesce(F.col("meta")["host"], F.lower(F.expr("parse_url(url, 'HOST')")))
