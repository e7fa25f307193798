"""Funnel-plot limits for proportions, the way FunnelPlotR v0.6.0 draws them.

Why this arithmetic and not a plain binomial funnel: providers' rates vary far more than
binomial noise allows (2019-20 recovery: a binomial 99.8 % funnel flags dozens of the 171
providers), so a regulator's funnel must allow for over-dispersion or it flags the large
providers for ordinary case-mix differences. FunnelPlotR's default — arcsine transform,
10 % winsorised z-scores, dispersion ratio φ and an additive random-effects τ² — is what NHS
analysts use, and ``../shared/domain/provider-comparison.md`` §1 gives it with golden values.

For group i with numerator O_i and denominator n_i:

- target p̄ = ΣO / Σn (or a given target); θ₀ = asin(√p̄);
- y_i = asin(√(O_i/n_i)), s_i = 1/(2√n_i), z_i = (y_i − θ₀)/s_i;
- z winsorised at its 10th and 90th percentiles (R's type 7 quantile), n not reduced;
- φ = mean of the squared winsorised z;
- τ² = max(0, (nφ − (n − 1)) / (Σw − Σw²/Σw)) with w_i = 4n_i (0 when nφ < n − 1);
- limits at N: sin²(θ₀ ∓ z_α·√(1/(4N) + τ²)), the angle held inside [0, π/2] so that the
  limits stop at 0 and 1 instead of folding back at small N.

Methods: ``"additive"`` (FunnelPlotR's default; τ² is used only when φ > 1, as the package
draws unadjusted limits when it detects no over-dispersion), ``"unadjusted"`` (τ² = 0) and
``"multiplicative"`` (Spiegelhalter 2005: p̄ ± z_α·√(φ·p̄(1−p̄)/N) on the natural scale, φ only
when φ > 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: two-sided normal quantiles for the two limit levels FunnelPlotR draws
Z_LEVEL = {95: 1.959963984540054, 99.8: 3.090232306167813}
METHODS = ("additive", "multiplicative", "unadjusted")
TRIM = 0.1


class Funnel:
    """Over-dispersion-aware funnel limits for one proportion across groups (providers).

    ``numerators``/``denominators`` are counts per group, ``groups`` their labels (index of
    every per-group answer). Every denominator must be > 0 and every numerator in [0, n].
    """

    def __init__(self, numerators, denominators, groups=None, method: str = "additive",
                 target: float | None = None):
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        numerators = np.asarray(numerators, dtype="float64")
        denominators = np.asarray(denominators, dtype="float64")
        if numerators.shape != denominators.shape or numerators.ndim != 1 or numerators.size < 2:
            raise ValueError("numerators and denominators must be two equal 1-d sequences of >= 2 groups")
        if not (np.isfinite(numerators).all() and np.isfinite(denominators).all()):
            raise ValueError("numerators and denominators must not be missing")
        if (denominators <= 0).any() or (numerators < 0).any() or (numerators > denominators).any():
            raise ValueError("each group needs 0 <= numerator <= denominator and denominator > 0")
        index = pd.Index(groups if groups is not None else range(numerators.size), name="group")
        self.method = method
        self.numerator = pd.Series(numerators, index=index)
        self.denominator = pd.Series(denominators, index=index)
        self.value = self.numerator / self.denominator
        self.target = float(numerators.sum() / denominators.sum()) if target is None else float(target)
        if not 0 <= self.target <= 1:
            raise ValueError(f"target must be a proportion in [0, 1], not {self.target}")
        self._theta0 = np.arcsin(np.sqrt(self.target))

        # unadjusted arcsine z-scores, their winsorised form, φ and τ² (FunnelPlotR's od_adjustment)
        y = np.arcsin(np.sqrt(self.value))
        self.z_unadjusted = (y - self._theta0) * 2 * np.sqrt(self.denominator)
        low, high = np.quantile(self.z_unadjusted.to_numpy(), [TRIM, 1 - TRIM])
        self.winsorised_range = (float(low), float(high))
        winsorised = self.z_unadjusted.clip(low, high)
        n = float(len(winsorised))
        self.phi = float((winsorised ** 2).mean())
        weights = 4 * denominators
        if n * self.phi < n - 1:
            self.tau2 = 0.0
        else:
            spread = weights.sum() - (weights ** 2).sum() / weights.sum()
            self.tau2 = max(0.0, float((n * self.phi - (n - 1)) / spread))

    @property
    def overdispersed(self) -> bool:
        """φ > 1: FunnelPlotR's own test; at or below it the limits stay unadjusted."""
        return self.phi > 1

    @property
    def adjusted(self) -> bool:
        """Do this funnel's limits carry an over-dispersion allowance?"""
        return self.method != "unadjusted" and self.overdispersed

    def _spread(self, denominators: np.ndarray) -> np.ndarray:
        """Standard error at each denominator, on the method's own scale."""
        if self.method == "multiplicative":
            phi = self.phi if self.adjusted else 1.0
            return np.sqrt(phi * self.target * (1 - self.target) / denominators)
        tau2 = self.tau2 if self.adjusted else 0.0
        return np.sqrt(1 / (4 * denominators) + tau2)

    def limits(self, denominators, level: float = 99.8) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits (proportions) at each denominator N, for level 95 or 99.8."""
        z = _z_for(level)
        denominators = np.asarray(denominators, dtype="float64")
        spread = self._spread(denominators)
        if self.method == "multiplicative":
            lower, upper = self.target - z * spread, self.target + z * spread
            return np.clip(lower, 0, 1), np.clip(upper, 0, 1)
        half_pi = np.pi / 2
        lower = np.sin(np.clip(self._theta0 - z * spread, 0, half_pi)) ** 2
        upper = np.sin(np.clip(self._theta0 + z * spread, 0, half_pi)) ** 2
        return lower, upper

    def limits_table(self, denominators) -> pd.DataFrame:
        """One row per N: lower/upper at 95 % and 99.8 % (the chart's curves)."""
        denominators = np.asarray(denominators, dtype="float64")
        lower95, upper95 = self.limits(denominators, 95)
        lower998, upper998 = self.limits(denominators, 99.8)
        return pd.DataFrame({"N": denominators, "lower95": lower95, "upper95": upper95,
                             "lower998": lower998, "upper998": upper998})

    @property
    def z(self) -> pd.Series:
        """Each group's z-score against the limits this method draws (|z| > z_α ⇔ outside)."""
        return pd.Series(self.z_of(self.value.to_numpy(), self.denominator.to_numpy()), index=self.value.index)

    def z_of(self, values, denominators) -> np.ndarray:
        """z-scores of rates ``values`` (proportions) at ``denominators`` against this funnel,
        for groups it was not fitted to as well (a peer or national funnel)."""
        values = np.asarray(values, dtype="float64")
        spread = self._spread(np.asarray(denominators, dtype="float64"))
        if self.method == "multiplicative":
            return (values - self.target) / spread
        return (np.arcsin(np.sqrt(values)) - self._theta0) / spread

    def outliers(self, level: float = 99.8) -> pd.DataFrame:
        """Per group: value, limits at its own denominator, and flag "high"/"low"/None."""
        return self.judge(self.numerator, self.denominator, level)

    def judge(self, numerators: pd.Series, denominators: pd.Series, level: float = 99.8) -> pd.DataFrame:
        """Any groups (numerators and denominators sharing an index), fitted here or not (a peer or
        national funnel judging others): value, z, limits at each denominator and flag."""
        value = numerators / denominators
        lower, upper = self.limits(denominators.to_numpy(), level)
        flag = np.where(value > upper, "high", np.where(value < lower, "low", None))
        with np.errstate(divide="ignore", invalid="ignore"):  # z is 0/0 only at a target of exactly 0 or 1
            z = self.z_of(value.to_numpy(), denominators.to_numpy())
        return pd.DataFrame({"numerator": numerators, "denominator": denominators, "value": value, "z": z,
                             "lower": lower, "upper": upper,
                             "flag": pd.Series(flag, index=numerators.index, dtype=object)}, index=numerators.index)


def _z_for(level: float) -> float:
    if level not in Z_LEVEL:
        raise ValueError(f"limit level must be 95 or 99.8 (FunnelPlotR's two), not {level}")
    return Z_LEVEL[level]
