"""Sampling strategies: the domain weights a mixture uses, from the tokens each domain has.

- `weights`: the manifest's weights as written.
- `natural`: proportional to available tokens (every domain once, nothing repeated).
- `temperature`: proportional to `tokens ** (1 / tau)`; tau 1 is natural, larger tau
  flattens towards uniform (the multilingual mT5/XLM-R recipe).
- `unimax` (Chung et al. 2023, "UniMax", Algorithm 1): a uniform token budget over domains,
  each capped at `unimax_epochs` passes over its data; the budget a small domain cannot use
  is shared out uniformly over the larger ones.

A strategy only sets the weights; targets, epochs and the cap then follow as for `weights`
(stages/mix.py). Repetition: `EPOCH_WARNING` is where repeated tokens lose most of their value
(Muennighoff et al. 2023, "Scaling Data-Constrained Language Models": about 4 epochs).
"""

from __future__ import annotations

from curator.errors import ManifestError

STRATEGIES = ("weights", "natural", "temperature", "unimax")
EPOCH_WARNING = 4.0


def unimax_allocation(tokens: dict[str, float], budget: float, max_epochs: float) -> dict[str, float]:
    """UniMax, Algorithm 1: tokens allocated to each domain.

    Domains in ascending order of size; each gets the remaining budget split evenly over the
    domains still unallocated, or `max_epochs` passes over its data when that is less.
    """
    out: dict[str, float] = {}
    remaining = float(budget)
    order = sorted(tokens, key=lambda d: (tokens[d], d))
    for i, d in enumerate(order):
        share = remaining / (len(order) - i)
        out[d] = min(share, tokens[d] * max_epochs)
        remaining -= out[d]
    return out


def strategy_weights(
    strategy: str, available: dict[str, int], weights: dict[str, float], *,
    tau: float = 1.0, budget: int | None = None, unimax_epochs: float = 4.0,
) -> dict[str, float]:
    """Normalised weights per domain for `strategy`; domains with weight 0 in `weights` stay
    out of every strategy (a zero weight means "leave this domain out")."""
    if strategy == "weights":
        total = sum(weights.values())
        return {d: w / total for d, w in weights.items()}
    used = {d: float(available.get(d, 0)) for d, w in weights.items() if w > 0 and available.get(d, 0) > 0}
    if not used:
        raise ManifestError(f"mixture.strategy {strategy}: no domain with a weight above 0 has tokens")
    if strategy == "natural":
        raw = used
    elif strategy == "temperature":
        if not tau > 0:
            raise ManifestError(f"mixture.temperature is {tau}; it must be above 0")
        top = max(used.values())  # scaled first: tokens ** (1/tau) overflows for small tau
        raw = {d: (t / top) ** (1.0 / tau) for d, t in used.items()}
    elif strategy == "unimax":
        total_budget = budget if budget is not None else sum(used.values())
        raw = unimax_allocation(used, total_budget, unimax_epochs)
    else:
        raise ManifestError(f"mixture.strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    total = sum(raw.values())
    return {d: raw.get(d, 0.0) / total for d in weights}


def settings_weights(settings, available: dict[str, int], budget: int | None = None) -> dict[str, float]:
    """The weights a MixtureSettings implies for these available tokens."""
    return strategy_weights(
        settings.strategy, available, settings.weights, tau=settings.temperature,
        budget=plan_budget(settings, available) if budget is None else budget,
        unimax_epochs=settings.max_epochs if settings.unimax_epochs is None else settings.unimax_epochs,
    )


def plan_budget(settings, available: dict[str, int]) -> int | None:
    """The budget a plan uses: `budget_tokens`, or for `unimax` without one the tokens of all
    weighted domains (one pass over the corpus); None means "the scarcest domain once"."""
    if settings.budget_tokens is not None or settings.strategy != "unimax":
        return settings.budget_tokens
    return sum(t for d, t in available.items() if settings.weights.get(d, 0) > 0)
