"""The providers of a synthetic extract: codes, sizes, their own rates and any planted pattern.

Each provider's rates are drawn around the national figures (``calibration.RATES``) on the logit
scale, so clean providers differ as real ones do and a funnel plot has honest spread to work
with. Referral counts are fixed up front (lognormal sizes), which lets the generator stream
referrals in provider order and still write exact counts into truth.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iapt_audit.synth import calibration, ids

SIZE_SIGMA = 0.5   # lognormal spread of provider sizes: the largest is a few times the smallest


@dataclass(frozen=True)
class Providers:
    codes: list[str]
    commissioners: list[str]
    referrals: np.ndarray            # referrals per provider
    plants: list[str | None]         # planted pattern per provider
    rates: dict[str, np.ndarray]     # rate name -> value per provider
    response_shift: np.ndarray       # provider effect on improvement (calibration.RESPONSE)
    therapists: np.ndarray           # therapists per provider, for CarePersLocalId

    def of_referrals(self, global_index: np.ndarray) -> np.ndarray:
        """Provider position of each global referral index."""
        return np.searchsorted(np.cumsum(self.referrals), global_index, side="right")


def draw_providers(rng: np.random.Generator, n: int, referrals: int, plants: list[str | None]) -> Providers:
    """Draw ``n`` providers sharing ``referrals``; ``plants`` gives each one's pattern (or None)."""
    weights = rng.lognormal(0.0, SIZE_SIGMA, n)
    sizes = rng.multinomial(referrals, weights / weights.sum())
    rates = {}
    for name, (national, spread, _source) in calibration.RATES.items():
        logit = np.log(national / (1 - national)) + rng.normal(0.0, spread, n)
        rates[name] = 1.0 / (1.0 + np.exp(-logit))
    return Providers(
        codes=ids.provider_codes(rng, n),
        commissioners=ids.commissioner_codes(rng, n),
        referrals=sizes,
        plants=plants,
        rates=rates,
        response_shift=rng.normal(0.0, calibration.RESPONSE_PROVIDER_SD, n),
        therapists=np.maximum(3, sizes // 150),
    )
