"""Weekly demand forecasts (#16, the Full Business Case): one series at a time, model chosen by backtest.

Pure arithmetic on weekly counts; reading them from the event log is `demand.py`'s job. For each series:

* Candidates: an ETS local-level state-space model (statsmodels `ETSModel`, additive error, no trend or
  season: 26 weeks cannot show a yearly season), and a count model (the trailing mean of the last
  `WINDOW` weeks as a Poisson rate, negative binomial where the weeks vary more than Poisson allows).
* Rolling-origin backtest on the last `HOLDOUT` weeks (fewer when history is short): from each origin,
  each candidate forecasts the next week from the weeks before it only. The ETS parameters are estimated
  once, on the weeks before the first origin, and then held fixed while its state rolls forward (the
  "non-updating" rolling origin: a refit per origin costs 40 ms a fit, and the 26 breakdowns would blow
  the page's budget); the forecast rolls the same parameters on to the last week. The model with the
  lower MAE is used; MAE and MAPE (over weeks with requests) are
  reported beside the baseline's: seasonal naive (same week last year) when there are two years of
  history, naive (last week's count) otherwise.
* Sparse series (fewer than `SPARSE_MEAN` requests a week on average): the count model only, and the
  result says so, because a Gaussian ETS through mostly-zero weeks gives nonsense intervals and costs a
  fit for nothing.
* Intervals: 80% and 95%, for the count in each future week (so they also cover its rate); ETS's are
  its analytic prediction intervals, clipped at 0; the count model's are the distribution's quantiles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

MIN_WEEKS = 8
HOLDOUT = 8
WINDOW = 13  # a quarter: recent enough to follow a change of level, long enough to be steady
SPARSE_MEAN = 3.0
SEASON = 52
LEVELS = (0.80, 0.95)


@dataclass
class Backtest:
    holdout: int
    baseline: str
    errors: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass
class Forecast:
    mean: list[float]
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]
    model: str
    backtest: Backtest
    note: str | None = None

    def scaled(self, factor: float, extra: float = 0.0) -> Forecast:
        """The same forecast for demand times `factor` plus `extra` a week (a scenario)."""

        def f(xs: list[float]) -> list[float]:
            return [round(x * factor + extra, 2) for x in xs]

        return Forecast(
            f(self.mean),
            f(self.lo80),
            f(self.hi80),
            f(self.lo95),
            f(self.hi95),
            self.model,
            self.backtest,
            self.note,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "note": self.note,
            "mean": self.mean,
            "lo80": self.lo80,
            "hi80": self.hi80,
            "lo95": self.lo95,
            "hi95": self.hi95,
            "backtest": {
                "holdout_weeks": self.backtest.holdout,
                "baseline": self.backtest.baseline,
                "errors": self.backtest.errors,
            },
        }


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    if len(actual) == 0:
        return {"mae": None, "mape": None}
    mae = float(np.mean(np.abs(actual - predicted)))
    nonzero = actual > 0
    mape = (
        float(np.mean(np.abs(actual[nonzero] - predicted[nonzero]) / actual[nonzero]) * 100)
        if nonzero.any()
        else None
    )
    return {"mae": round(mae, 3), "mape": None if mape is None else round(mape, 2)}


def _count_rate(y: np.ndarray) -> tuple[float, float]:
    """The trailing window's mean and variance (the count model's whole fit)."""
    recent = y[-WINDOW:]
    mean = float(recent.mean())
    var = float(recent.var(ddof=1)) if len(recent) > 1 else mean
    return mean, var


def _count_quantiles(mean: float, var: float, q: float) -> float:
    if mean <= 0:
        return 0.0
    if var > mean * 1.05:  # overdispersed: negative binomial with the same mean and variance
        n = mean * mean / (var - mean)
        return float(stats.nbinom.ppf(q, n, n / (n + mean)))
    return float(stats.poisson.ppf(q, mean))


def _count_forecast(y: np.ndarray, horizon: int) -> dict[str, list[float]]:
    mean, var = _count_rate(y)
    out: dict[str, list[float]] = {"mean": [round(mean, 2)] * horizon}
    for level in LEVELS:
        tail = (1 - level) / 2
        pct = round(level * 100)
        out[f"lo{pct}"] = [_count_quantiles(mean, var, tail)] * horizon
        out[f"hi{pct}"] = [_count_quantiles(mean, var, 1 - tail)] * horizon
    return out


def _ets(y: np.ndarray) -> Any:
    # Imported here: statsmodels takes about a second to import, and most commands never forecast.
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    # A Series, not an array: statsmodels 0.15's get_prediction needs an index to label its rows.
    return ETSModel(pd.Series(y, index=pd.RangeIndex(len(y))), error="add", trend=None, seasonal=None)


def _ets_forecast(results: Any, horizon: int) -> dict[str, list[float]]:
    n = results.nobs
    out: dict[str, list[float]] = {}
    prediction = results.get_prediction(start=n, end=n + horizon - 1)  # once: both levels read it
    for level in LEVELS:
        frame = prediction.summary_frame(alpha=1 - level)
        pct = round(level * 100)
        out["mean"] = [round(max(0.0, float(v)), 2) for v in frame["mean"]]
        out[f"lo{pct}"] = [round(max(0.0, float(v)), 2) for v in frame["pi_lower"]]
        out[f"hi{pct}"] = [round(max(0.0, float(v)), 2) for v in frame["pi_upper"]]
    return out


def forecast(counts: list[int] | list[float], *, horizon: int = 26, min_weeks: int = MIN_WEEKS) -> Forecast:
    """Forecast `horizon` weeks after `counts` (complete weeks, oldest first). Raises ValueError if the
    series is shorter than `min_weeks` (callers turn that into workflow.errors.TooLittleHistory)."""
    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n < min_weeks:
        raise ValueError(f"{n} weeks of history, {min_weeks} needed")
    holdout = min(HOLDOUT, n // 2)
    first = n - holdout
    seasonal = n >= 2 * SEASON + holdout
    baseline_name = "seasonal naive (same week last year)" if seasonal else "naive (last week's count)"
    actual = y[first:]
    lag = SEASON if seasonal else 1
    baseline = y[first - lag : n - lag]
    count_pred = np.array([_count_rate(y[:t])[0] for t in range(first, n)])
    bt = Backtest(holdout, baseline_name)
    bt.errors["baseline"] = _errors(actual, baseline)
    bt.errors["count"] = _errors(actual, count_pred)
    sparse = float(y.mean()) < SPARSE_MEAN
    if sparse:
        return _made(
            _count_forecast(y, horizon),
            "count",
            bt,
            f"sparse (under {SPARSE_MEAN:g} requests a week): the count model only, no ETS fitted",
        )
    with warnings.catch_warnings():
        # Convergence chatter on flat series: the fit is still the best the optimiser found.
        warnings.simplefilter("ignore")
        trained = _ets(y[:first]).fit(disp=False)
        rolled = _ets(y).smooth(trained.params)
    # One-step-ahead forecasts from each origin in the holdout, with the training weeks' parameters.
    ets_pred = np.maximum(0.0, np.asarray(rolled.fittedvalues, dtype=float)[first:])
    bt.errors["ets"] = _errors(actual, ets_pred)
    ets_mae = bt.errors["ets"]["mae"]
    count_mae = bt.errors["count"]["mae"]
    assert ets_mae is not None and count_mae is not None
    if ets_mae <= count_mae:
        return _made(_ets_forecast(rolled, horizon), "ets", bt)
    return _made(_count_forecast(y, horizon), "count", bt)


def _made(bands: dict[str, list[float]], model: str, bt: Backtest, note: str | None = None) -> Forecast:
    return Forecast(
        bands["mean"], bands["lo80"], bands["hi80"], bands["lo95"], bands["hi95"], model, bt, note
    )
