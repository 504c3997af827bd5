"""`curator mix plan`: what a mixture implies, before running it (no Spark).

Available tokens and documents per domain come from a previous run's tokenize statistics
(`stats/tokenized.json` in the manifest's run directory). For the manifest's own weights and
for each `--weights` set it shows target tokens, implied epochs and documents per domain, side
by side, and flags every domain that would need more than `mixture.max_epochs` epochs.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from curator.errors import ManifestError
from curator.manifest import MAX_BUDGET_TOKENS, MAX_WEIGHT, Manifest
from curator.mix_strategies import EPOCH_WARNING, plan_budget
from curator.rundir import read_bounded
from curator.terminal import shown

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}


def parse_budget(text: str) -> int:
    """`1.5T`, `200B`, `40M`, `12K` or a plain integer -> tokens."""
    m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([KMBGT]?)\s*", text, flags=re.I)
    if not m:
        raise ManifestError(f"--budget {text!r}: write a number with an optional K/M/B/T suffix, e.g. 1.5T")
    value = float(m.group(1).replace("_", "")) * _SUFFIX[m.group(2).upper()]
    if value < 1:
        raise ManifestError(f"--budget {text!r}: the budget must be at least one token")
    if not value <= MAX_BUDGET_TOKENS:
        raise ManifestError(f"--budget {text!r}: at most {MAX_BUDGET_TOKENS:.0e} tokens")
    return int(round(value))


def parse_weights(text: str, domains: list[str]) -> dict[str, float]:
    """`web=0.7,code=0.3` -> weights; domains left out get 0, unknown ones are an error."""
    out = {d: 0.0 for d in domains}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in out:
            raise ManifestError(
                f"--weights {text!r}: expected DOMAIN=WEIGHT pairs with domains from {', '.join(domains)}"
            )
        try:
            w = float(value)
        except ValueError:
            raise ManifestError(f"--weights {text!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(w) or not 0 <= w <= MAX_WEIGHT:
            raise ManifestError(f"--weights {text!r}: weight of {name!r} must be a number from 0 to {MAX_WEIGHT:.0e}")
        out[name] = w
    if sum(out.values()) <= 0:
        raise ManifestError(f"--weights {text!r}: the weights sum to 0")
    return out


@dataclass
class Available:
    tokens: dict[str, int]
    documents: dict[str, int]


def available_from_run(m: Manifest) -> Available:
    path = m.run_dir / "stats" / "tokenized.json"
    if not path.is_file():
        raise ManifestError(
            f"no token counts for run {m.run!r} ({path} is missing): "
            f"run `curator run MANIFEST --until tokenize` first"
        )
    try:
        stats = json.loads(read_bounded(path))  # size-capped: ManifestError when larger
        domains = stats.get("domains", {})
        return Available(
            {d: _count(domains.get(d, {}).get("tokens_kept", 0)) for d in m.mixture.weights},
            {d: _count(domains.get(d, {}).get("kept", 0)) for d in m.mixture.weights},
        )
    except (ValueError, TypeError, AttributeError, OSError):
        raise ManifestError(
            f"{path}: not the token counts curator writes; re-run `curator run MANIFEST --until tokenize`"
        ) from None


def _count(value) -> int:
    """A count from a stats file: a non-negative whole number (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(value)
    return value


def _fmt_tokens(n: float) -> str:
    for div, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}"
    return f"{int(n)}"


def plan_sets(m: Manifest, avail: Available, weight_sets: list[tuple[str, dict[str, float]]], budget: int | None):
    """[(label, plans)] for each weight set; every set uses the same budget and cap."""
    from stages.mix import compute_plan

    budget = plan_budget(m.mixture, avail.tokens) if budget is None else budget
    return [(label, compute_plan(avail.tokens, w, budget, m.mixture.max_epochs)) for label, w in weight_sets]


def strategy_sets(m: Manifest, avail: Available, strategies: list[str], tau: float | None,
                  budget: int | None) -> list[tuple[str, dict[str, float]]]:
    """The manifest's weights (under its own strategy), then one set per `--strategy`."""
    from curator.mix_strategies import STRATEGIES, settings_weights

    sets = [("manifest", settings_weights(m.mixture, avail.tokens, budget))]
    for name in strategies:
        if name not in STRATEGIES:
            raise ManifestError(f"--strategy {name!r}: use one of {', '.join(STRATEGIES)}")
        changed = {"strategy": name} | ({"temperature": tau} if tau is not None else {})
        settings = m.mixture.model_copy(update=changed)
        label = f"{name} {settings.temperature:g}" if name == "temperature" else name
        sets.append((label, settings_weights(settings, avail.tokens, budget)))
    return sets


def render(m: Manifest, avail: Available, sets) -> tuple[str, list[str]]:
    """The side-by-side table and one warning line per domain over the epoch cap."""
    domains = sorted(m.mixture.weights)
    head1 = ["", ""]
    head2 = ["domain", "available"]
    for label, _ in sets:
        head1 += [label, "", "", ""]
        head2 += ["weight", "target", "epochs", "documents"]
    rows = [head1, head2]
    warnings: list[str] = []
    totals = ["total", _fmt_tokens(sum(avail.tokens.values()))]
    for d in domains:
        row = [d, _fmt_tokens(avail.tokens[d])]
        for label, plans in sets:
            p = plans[d]
            flag = " !" if p.over_cap else ""
            docs = avail.documents[d] * p.rate
            row += [f"{p.weight:.3f}", _fmt_tokens(p.target_tokens), f"{p.rate:.2f}{flag}", f"{docs:,.0f}"]
            if p.over_cap:
                warnings.append(
                    f"error: [{label}] domain {d!r} needs {p.rate:.2f} epochs "
                    f"({p.target_tokens:,} of {p.available_tokens:,} tokens), more than "
                    f"mixture.max_epochs {m.mixture.max_epochs:g}; lower its weight or the budget"
                )
            elif p.rate > EPOCH_WARNING:
                warnings.append(
                    f"warning: [{label}] domain {d!r} is repeated {p.rate:.2f} times; data repeated "
                    f"more than {EPOCH_WARNING:g} epochs adds little (Muennighoff et al. 2023)"
                )
        rows.append(row)
    for _, plans in sets:
        total = sum(p.target_tokens for p in plans.values())
        docs = sum(avail.documents[d] * p.rate for d, p in plans.items())
        totals += ["", _fmt_tokens(total), "", f"{docs:,.0f}"]
    rows.append(totals)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head2))]
    lines = []
    for i, r in enumerate(rows):
        cells = [c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if i == 1 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines), warnings


def stage_lines(m: Manifest, total: int) -> list[str]:
    """`shards.stages`: each stage's window and share of the manifest's planned tokens."""
    if not m.shards.stages:
        return []
    from stages.staging import fractions

    lines = [f"training stages ({m.shards.curriculum} curriculum, packing {m.shards.packing}):"]
    for s, f in zip(m.shards.stages, fractions(m.shards.stages)):
        lines.append(f"  seq_len {s.seq_len:>7,}  {100 * f:5.1f}%  {_fmt_tokens(total * f):>8} tokens")
    return lines


def mix_plan(manifest_path: str, weights: list[str] | None, budget: str | None, echo=print,
             strategies: list[str] | None = None, tau: float | None = None) -> int:
    """Print the plan; exit status 2 when a shown weight set exceeds the epoch cap."""
    from curator.manifest import load

    m = load(manifest_path)
    avail = available_from_run(m)
    domains = sorted(m.mixture.weights)
    b = parse_budget(budget) if budget else None
    sets = strategy_sets(m, avail, strategies or [], tau, b)
    for i, text in enumerate(weights or [], 1):
        sets.append((f"set {i}", parse_weights(text, domains)))
    planned = plan_sets(m, avail, sets, b)
    total_budget = b or plan_budget(m.mixture, avail.tokens)
    how = f"budget {_fmt_tokens(total_budget)} tokens" if total_budget else "budget: scarcest domain once"
    echo(f"mixture plan for {m.run} ({how}, max_epochs {m.mixture.max_epochs:g}; "
         f"available tokens from {shown(m.run_dir / 'stats' / 'tokenized.json')})")
    table, warnings = render(m, avail, planned)
    echo(table)
    for line in stage_lines(m, sum(p.target_tokens for p in planned[0][1].values())):
        echo(line)
    for w in warnings:
        echo(w)
    return 2 if any(w.startswith("error:") for w in warnings) else 0
