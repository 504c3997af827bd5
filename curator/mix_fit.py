"""Sweep, fit, propose: from a handful of cheap proxy runs to a better mixture.

`curator mix sweep RUN -n 64 --seed 0` draws mixtures from a Dirichlet centred on the run's
weights (as RegMix does; `--concentration` sets how far they stray), keeps only those within
the run's max_epochs at its budget, and writes for each a blend file (`mix-0000.json`: its
weights and, when the run has per-domain Megatron shards, its `--data-path` list) plus
`sweep.csv` with an empty `result` column for the proxy runs to fill, and `sweep.json` with
what the constraints need (available tokens, budget, max_epochs).

`curator mix fit RESULTS.csv` fits the mixing law of Ye et al. 2024 ("Data Mixing Laws"),
`L(r) = c + sum_i k_i exp(t_i . r)` with `k_i > 0` (one term per domain), by least squares
from several starts; it reports the fit on held-out runs (5-fold cross-validated R^2), then
minimises the fitted law (convex: a unique optimum) within the constraints (min/max weight per
domain, max epochs) and gives the predicted result with its spread over bootstrap refits.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.errors import InputError, ManifestError

MAX_RESULTS_BYTES = 64 << 20
MAX_SWEEP = 100_000


# -- sweep -----------------------------------------------------------------------------------
def dirichlet_mixtures(base: dict[str, float], n: int, seed: int, concentration: float,
                       upper: dict[str, float] | None = None, max_tries: int = 1000) -> list[dict[str, float]]:
    """`n` mixtures: the base weights first, then Dirichlet draws with mean `base` and total
    concentration `concentration`, redrawn while a weight exceeds its `upper` bound."""
    domains = sorted(d for d, w in base.items() if w > 0)
    total = sum(base[d] for d in domains)
    mean = np.array([base[d] / total for d in domains])
    hi = np.array([(upper or {}).get(d, 1.0) for d in domains])
    rng = np.random.default_rng(seed)
    out = [dict(zip(domains, mean.tolist()))]
    while len(out) < n:
        for _ in range(max_tries):
            w = rng.dirichlet(np.maximum(mean * concentration, 1e-3))
            if np.all(w <= hi + 1e-12):
                break
        else:
            raise ManifestError(f"no mixture within max_epochs after {max_tries} draws; "
                                f"raise --concentration or the run's max_epochs")
        out.append(dict(zip(domains, w.tolist())))
    return out


def _run_context(run: Path) -> dict:
    """Base weights, available tokens, budget and max_epochs of a finished run."""
    from curator.mix_export import _json

    mixed = _json(run / "stats" / "mixed.json", "run the mix phase first (`curator run MANIFEST`)")
    try:
        plan = mixed["plan"]
        return {
            "base_weights": {d: float(p["weight"]) for d, p in plan.items()},
            "available_tokens": {d: int(p["available_tokens"]) for d, p in plan.items()},
            "budget_tokens": sum(int(p["target_tokens"]) for p in plan.values()),
            "max_epochs": float(mixed.get("max_epochs", 4.0)),
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ManifestError(f"{run / 'stats' / 'mixed.json'}: no mixture plan in it") from None


def epoch_bounds(ctx: dict, max_epochs: float | None = None) -> dict[str, float]:
    """Highest weight per domain that stays within max_epochs at the run's budget."""
    cap = ctx["max_epochs"] if max_epochs is None else max_epochs
    b = ctx["budget_tokens"]
    return {d: min(1.0, cap * t / b) if b else 1.0 for d, t in ctx["available_tokens"].items()}


def mix_sweep(run_dir: str, n: int, seed: int, concentration: float, out_dir: str | None, echo=print) -> int:
    from curator.mix_export import domain_files, megatron_args
    from curator.phases import write_atomic

    if not 1 <= n <= MAX_SWEEP:
        raise ManifestError(f"-n {n}: ask for 1 to {MAX_SWEEP} mixtures")
    if not (math.isfinite(concentration) and concentration > 0):
        raise ManifestError(f"--concentration {concentration}: must be above 0")
    run = Path(run_dir)
    ctx = _run_context(run)
    mixtures = dirichlet_mixtures(ctx["base_weights"], n, seed, concentration, epoch_bounds(ctx))
    try:
        _, files = domain_files(run, "megatron", None)
    except ManifestError:
        files = None  # no per-domain Megatron shards: the blend files hold the weights only
    out = Path(out_dir) if out_dir else run / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    domains = sorted(mixtures[0])
    lines = [",".join(["mixture", *domains, "result"])]
    for i, w in enumerate(mixtures):
        name = f"mix-{i:04d}"
        blend = {"mixture": name, "weights": w}
        if files is not None:
            blend["megatron_data_path"] = megatron_args(w, files)
        write_atomic(out / f"{name}.json", json.dumps(blend, indent=1, sort_keys=True) + "\n")
        lines.append(",".join([name, *(f"{w[d]:.6f}" for d in domains), ""]))
    write_atomic(out / "sweep.csv", "\n".join(lines) + "\n")
    write_atomic(out / "sweep.json", json.dumps({**ctx, "seed": seed, "concentration": concentration,
                                                 "n": n}, indent=1, sort_keys=True) + "\n")
    echo(f"wrote {n} mixtures to {out} (mix-0000 is the run's own); fill the `result` column of "
         f"{out / 'sweep.csv'} with each proxy run's score, then `curator mix fit {out / 'sweep.csv'}`")
    return 0


# -- the mixing law ----------------------------------------------------------------------------
@dataclass
class MixingLaw:
    """`c + sum_i exp(b_i + t_i . r[:-1])` on standardised results (the last weight is implied
    by the others, so the parameters are identifiable)."""

    params: np.ndarray
    n_domains: int
    scale: tuple[float, float]  # (mean, sd) of the results the law was fit on

    def _raw(self, r: np.ndarray) -> np.ndarray:
        return _law(self.params, np.atleast_2d(r), self.n_domains)

    def predict(self, r: np.ndarray) -> np.ndarray:
        return self.scale[0] + self.scale[1] * self._raw(r)


def _law(p: np.ndarray, r: np.ndarray, n: int) -> np.ndarray:
    c, b, t = p[0], p[1:1 + n], p[1 + n:].reshape(n, n - 1)
    z = np.clip(b[None, :] + r[:, :-1] @ t.T, -50, 50)
    return c + np.exp(z).sum(axis=1)


def _law_jac(p: np.ndarray, r: np.ndarray, n: int) -> np.ndarray:
    b, t = p[1:1 + n], p[1 + n:].reshape(n, n - 1)
    e = np.exp(np.clip(b[None, :] + r[:, :-1] @ t.T, -50, 50))  # (runs, n)
    dt = (e[:, :, None] * r[:, None, :-1]).reshape(len(r), -1)
    return np.hstack([np.ones((len(r), 1)), e, dt])


RIDGE = 0.01
"""Weight of a ridge penalty on the exponents `t`: without it, noise lets one term grow steep
outside the sampled weights, and the proposal chases that extrapolation."""


def fit_law(r: np.ndarray, y: np.ndarray, seed: int = 0, starts: int = 6) -> MixingLaw:
    """Least-squares fit of the mixing law from `starts` random starting points."""
    from scipy.optimize import least_squares

    n = r.shape[1]
    m = n * (n - 1)
    ridge = np.hstack([np.zeros((m, 1 + n)), RIDGE * np.eye(m)])
    mu, sd = float(y.mean()), float(y.std()) or 1.0
    z = (y - mu) / sd
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        p0 = np.concatenate([[z.min() - 1.0], np.log(np.full(n, 1.0 / n)), rng.normal(0, 1.0, n * (n - 1))])
        res = least_squares(lambda p: np.concatenate([_law(p, r, n) - z, RIDGE * p[1 + n:]]), p0,
                            jac=lambda p: np.vstack([_law_jac(p, r, n), ridge]), method="trf", max_nfev=500)
        if best is None or res.cost < best.cost:
            best = res
    return MixingLaw(best.x, n, (mu, sd))


def heldout_r2(r: np.ndarray, y: np.ndarray, seed: int = 0, folds: int = 5) -> float:
    """R^2 of predictions for runs the fit did not see (k-fold cross-validation)."""
    idx = np.random.default_rng(seed).permutation(len(y))
    pred = np.empty_like(y)
    for k in range(folds):
        test = idx[k::folds]
        train = np.setdiff1d(idx, test)
        pred[test] = fit_law(r[train], y[train], seed + k, starts=3).predict(r[test])
    return 1.0 - float(((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def minimise(law: MixingLaw, lo: np.ndarray, hi: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
    """The weights in {sum 1, lo <= r <= hi} where the fitted law is lowest."""
    from scipy.optimize import minimize

    cons = [{"type": "eq", "fun": lambda r: r.sum() - 1.0, "jac": lambda r: np.ones_like(r)}]
    best, best_v = None, math.inf
    for s in starts:
        x0 = np.clip(s, lo, hi)
        res = minimize(lambda r: float(law._raw(r)[0]), x0, method="SLSQP", bounds=list(zip(lo, hi)),
                       constraints=cons, options={"maxiter": 500, "ftol": 1e-12})
        x = np.clip(res.x, lo, hi)
        v = float(law._raw(x)[0])
        if abs(x.sum() - 1) < 1e-6 and v < best_v:
            best, best_v = x, v
    if best is None:
        raise ManifestError("no mixture meets the constraints: check --min/--max against max_epochs")
    return best


@dataclass
class Proposal:
    domains: list[str]
    weights: dict[str, float]
    predicted: float
    spread: float  # sd of the prediction over bootstrap refits
    r2_heldout: float
    runs: int


def propose(domains: list[str], r: np.ndarray, y: np.ndarray, lo: dict[str, float], hi: dict[str, float],
            maximize: bool = False, seed: int = 0, bootstrap: int = 8) -> Proposal:
    sign = -1.0 if maximize else 1.0
    z = sign * y
    lo_a = np.array([lo.get(d, 0.0) for d in domains])
    hi_a = np.array([hi.get(d, 1.0) for d in domains])
    if lo_a.sum() > 1 + 1e-9 or hi_a.sum() < 1 - 1e-9 or np.any(lo_a > hi_a):
        raise ManifestError("no mixture meets the constraints: the minimum weights sum above 1, the maximum "
                            "ones below 1, or a minimum is above its maximum")
    law = fit_law(r, z, seed)
    order = np.argsort(z)
    starts = [r[i] for i in order[:4]] + [np.full(len(domains), 1.0 / len(domains))]
    x = minimise(law, lo_a, hi_a, starts)
    rng = np.random.default_rng(seed + 1)
    preds = []
    for b in range(bootstrap):
        pick = rng.integers(0, len(y), len(y))
        preds.append(float(fit_law(r[pick], z[pick], seed + 100 + b, starts=2).predict(x)[0]))
    return Proposal(domains, dict(zip(domains, x.tolist())), sign * float(law.predict(x)[0]),
                    float(np.std(preds)), heldout_r2(r, z, seed), len(y))


# -- the command ----------------------------------------------------------------------------
def read_results(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(domains, weights, results) from a sweep CSV; rows without a result are skipped."""
    if not path.is_file():
        raise InputError(f"{path}: no such results file")
    if path.stat().st_size > MAX_RESULTS_BYTES:
        raise InputError(f"{path}: larger than {MAX_RESULTS_BYTES >> 20} MiB; not a sweep results file")
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.reader(f))
    except csv.Error as e:
        raise InputError(f"{path}: not a sweep results CSV ({e})") from None
    if not rows or "result" not in rows[0]:
        raise InputError(f"{path}: no `result` column; use the sweep.csv `curator mix sweep` wrote")
    head = rows[0]
    domains = [h for h in head if h not in ("mixture", "result")]
    ri = head.index("result")
    di = [head.index(d) for d in domains]
    ws, ys = [], []
    for line, row in enumerate(rows[1:], 2):
        if len(row) != len(head) or not row[ri].strip():
            continue
        try:
            w = [float(row[i]) for i in di]
            y = float(row[ri])
        except ValueError:
            raise InputError(f"{path}:{line}: weights and result must be numbers") from None
        if not (math.isfinite(y) and all(math.isfinite(v) and v >= 0 for v in w)) or sum(w) <= 0:
            raise InputError(f"{path}:{line}: weights must be finite and >= 0, the result finite")
        ws.append(np.array(w) / sum(w))
        ys.append(y)
    need = 2 * len(domains) + 4
    if len(ys) < need:
        raise InputError(f"{path}: {len(ys)} filled results; the fit needs at least {need} for "
                         f"{len(domains)} domains (64 or more are best)")
    return domains, np.array(ws), np.array(ys)


def _bounds(items: list[str], domains: list[str], what: str) -> dict[str, float]:
    """`--min web=0.2,code=0.1` -> {domain: bound}; a bound is a fraction from 0 to 1."""
    out: dict[str, float] = {}
    for part in (p.strip() for text in items for p in text.split(",")):
        name, sep, value = part.partition("=")
        try:
            w = float(value)
        except ValueError:
            w = math.nan
        if not sep or name.strip() not in domains or not 0 <= w <= 1:
            raise ManifestError(f"--{what} {part!r}: expected DOMAIN=FRACTION (0 to 1) with a domain "
                                f"from {', '.join(domains)}")
        out[name.strip()] = w
    return out


def mix_fit(results: str, maximize: bool, mins: list[str], maxs: list[str], max_epochs: float | None,
            seed: int, echo=print) -> int:
    from curator.phases import write_atomic

    path = Path(results)
    domains, r, y = read_results(path)
    lo = _bounds(mins, domains, "min")
    hi = _bounds(maxs, domains, "max")
    ctx_path = path.parent / "sweep.json"
    if ctx_path.is_file():  # the run's tokens and budget: the epoch cap becomes a weight bound
        from curator.mix_export import _json

        try:
            bounds = epoch_bounds(_json(ctx_path, ""), max_epochs)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ManifestError(f"{ctx_path}: not the sweep.json `curator mix sweep` writes; run the sweep again") from None
        for d, b in bounds.items():
            if d in domains:
                hi[d] = min(hi.get(d, 1.0), b)
    elif max_epochs is not None:
        raise ManifestError(f"--max-epochs needs {ctx_path} (written by `curator mix sweep`) for the tokens per domain")
    p = propose(domains, r, y, lo, hi, maximize, seed)
    best = int(np.argmax(y) if maximize else np.argmin(y))
    echo(f"fit of the mixing law on {p.runs} runs: held-out R^2 {p.r2_heldout:.3f} (5-fold)")
    echo(f"best run in the sweep: {y[best]:.6g} at " + ", ".join(f"{d}={w:.3f}" for d, w in zip(domains, r[best])))
    echo(f"proposed mixture ({'highest' if maximize else 'lowest'} predicted result within the constraints):")
    for d in domains:
        echo(f"  {d:<20} {p.weights[d]:.4f}")
    echo(f"predicted result: {p.predicted:.6g} +- {p.spread:.2g} (sd over bootstrap refits)")
    if p.r2_heldout < 0.8:
        echo("warning: the fit explains little of held-out results; add runs before trusting the proposal")
    out = path.parent / "proposal.json"
    write_atomic(out, json.dumps({"weights": p.weights, "predicted": p.predicted, "spread": p.spread,
                                  "r2_heldout": p.r2_heldout, "runs": p.runs, "maximize": maximize},
                                 indent=1, sort_keys=True) + "\n")
    echo(f"wrote {out}; try it with `curator mix plan MANIFEST --weights "
         + ",".join(f"{d}={p.weights[d]:.4f}" for d in domains) + "`")
    return 0
