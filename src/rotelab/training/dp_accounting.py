"""A DP-SGD run's epsilon from what it recorded, apart from the training code of
:mod:`rotelab.training.dp`: reading a run's guarantee (the audits, its figures) then needs
no torch until it is computed, so planning the workflow stays light.

The accountant is Opacus's RDP accountant (Mironov 2017; Abadi et al. 2016's moments
accountant for the Poisson-sampled Gaussian mechanism), the one DP-SGD trains with.
"""

from __future__ import annotations


def epsilon_spent(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """Epsilon (RDP accountant) of ``steps`` Poisson-sampled Gaussian-mechanism steps."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    return accountant.get_epsilon(delta)


def accountant_epsilon(accounting: list[dict], delta: float) -> float:
    """A run's epsilon at ``delta`` from its DP-SGD parts (``noise_multiplier``,
    ``sample_rate``, ``steps`` each): one part for a centralized run, one per client in
    FedAvg, where each client's data is only seen by its own DP-SGD, so the run's guarantee
    is the worst part's. The RDP accountant converts at any delta, so a run calibrated at
    one delta can be compared with an audit at another."""
    if not accounting:
        raise ValueError("accountant_epsilon needs at least one DP-SGD part")
    return max(epsilon_spent(a["noise_multiplier"], a["sample_rate"], int(a["steps"]), delta) for a in accounting)
