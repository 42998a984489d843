"""Empirical lower bounds on a training run's differential-privacy epsilon, from the
membership scores of examples known to be in (members) or out (non-members).

A run that is (epsilon, delta)-DP limits every membership test: at any threshold, with
false-positive rate FPR and false-negative rate FNR,

    FPR + e^epsilon * FNR >= 1 - delta   and   FNR + e^epsilon * FPR >= 1 - delta

(Kairouz, Oh & Viswanath, "The composition theorem for differential privacy", ICML 2015,
Theorem 2.1). An attack whose rates break these at some epsilon shows, at the stated
confidence, that the run is not (epsilon, delta)-DP: a lower bound. Two audits:

* ``threshold_audit``: many members and non-members, one threshold test. The threshold
  and its direction are chosen on a random half, and the rates are bounded on the other
  half by Clopper-Pearson intervals (Jagielski, Ullman & Oprea, "Auditing differentially
  private machine learning: how private is private SGD?", NeurIPS 2020, section 3; the
  Clopper-Pearson ratio bound of tensorflow/privacy's ``privacy_tests/epsilon_lower_bound``).
* ``one_run_audit``: m audit canaries, each inserted with probability 1/2 into one training
  run; the auditor guesses in or out for the most confident ones and abstains on the rest
  (Steinke, Nasr & Jagielski, "Privacy auditing with one (1) training run", NeurIPS 2023,
  arXiv:2305.08846). Under (epsilon, delta)-DP the number of correct guesses is at most
  Binomial(guesses, e^epsilon / (1 + e^epsilon)) up to a delta term (their main theorem).

Both return 0 when the scores do not tell members from non-members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

EPSILON_CAP = 50.0  # searches stop here: no finite sample certifies more


@dataclass(frozen=True)
class ThresholdAudit:
    """epsilon: the lower bound (0 when none is shown). threshold, members_above: the test
    chosen on the selection half (members_above False: scores below the threshold are
    called members). fpr_high, fnr_high: the Clopper-Pearson upper bounds on the other half."""

    epsilon: float
    threshold: float
    members_above: bool
    fpr_high: float
    fnr_high: float


@dataclass(frozen=True)
class OneRunAudit:
    """epsilon: the lower bound (0 when none is shown). guesses, correct: the auditor's
    guesses and how many were right, of ``canaries`` audit canaries."""

    epsilon: float
    guesses: int
    correct: int
    canaries: int


def clopper_pearson_upper(k: np.ndarray | int, n: int, significance: float) -> np.ndarray:
    """One-sided upper Clopper-Pearson bound on a rate of ``k`` in ``n``: the true rate is
    below it with probability at least 1 - significance."""
    k = np.asarray(k, dtype=float)
    upper = stats.beta.ppf(1 - significance, k + 1, n - k)
    return np.where(k >= n, 1.0, upper)


def _epsilon_from_rates(fpr_high: np.ndarray, fnr_high: np.ndarray, delta: float) -> np.ndarray:
    """The largest epsilon the two Kairouz inequalities refute, given upper bounds on the
    error rates; 0 where none is refuted."""
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.log(np.maximum(1 - delta - fpr_high, 0)) - np.log(fnr_high)
        second = np.log(np.maximum(1 - delta - fnr_high, 0)) - np.log(fpr_high)
    best = np.fmax(first, second)
    return np.clip(np.nan_to_num(best, nan=0.0, posinf=EPSILON_CAP, neginf=0.0), 0.0, EPSILON_CAP)


def _error_counts(members: np.ndarray, nonmembers: np.ndarray, thresholds: np.ndarray, above: bool):
    """False negatives and false positives of the test "member when the score is above (or,
    ``above`` False, below) the threshold", for each threshold."""
    members, nonmembers = np.sort(members), np.sort(nonmembers)
    if above:  # called member when score > threshold
        false_negatives = np.searchsorted(members, thresholds, side="right")
        false_positives = nonmembers.size - np.searchsorted(nonmembers, thresholds, side="right")
    else:  # called member when score < threshold
        false_negatives = members.size - np.searchsorted(members, thresholds, side="left")
        false_positives = np.searchsorted(nonmembers, thresholds, side="left")
    return false_negatives, false_positives


def _candidate_thresholds(scores: np.ndarray, most: int = 4096) -> np.ndarray:
    """Midpoints between consecutive distinct scores (a threshold in the middle of a gap
    generalises to held-out scores better than one at its edge), or ``most`` of them, dense
    at both tails (where the rare errors that give large bounds are), sparse in the middle."""
    values = np.unique(scores)
    midpoints = (values[1:] + values[:-1]) / 2
    if midpoints.size <= most:
        return midpoints
    ranks = np.unique(np.round(np.geomspace(1, midpoints.size, most // 2)).astype(int) - 1)
    return midpoints[np.unique(np.concatenate([ranks, midpoints.size - 1 - ranks]))]


def _bounds(members, nonmembers, thresholds, above, delta, significance):
    false_negatives, false_positives = _error_counts(members, nonmembers, thresholds, above)
    # Both rates must hold at once: each gets half of the failure probability.
    fnr_high = clopper_pearson_upper(false_negatives, members.size, significance / 2)
    fpr_high = clopper_pearson_upper(false_positives, nonmembers.size, significance / 2)
    return _epsilon_from_rates(fpr_high, fnr_high, delta), fpr_high, fnr_high


def threshold_audit(
    member_scores,
    nonmember_scores,
    delta: float,
    confidence: float = 0.95,
    seed: int = 0,
) -> ThresholdAudit:
    """epsilon lower bound at ``delta`` from one threshold test, as in Jagielski et al. (2020).

    A seeded random half of the members and of the non-members chooses the threshold and
    its direction (members above or below), maximising the bound on that half; the other
    half bounds FPR and FNR from above by Clopper-Pearson at ``confidence`` (half the
    failure probability each), and the bound is the largest epsilon the Kairouz
    inequalities refute with them. Choosing on held-out data keeps the confidence honest.
    """
    members = np.asarray(member_scores, dtype=float)
    nonmembers = np.asarray(nonmember_scores, dtype=float)
    if members.size < 2 or nonmembers.size < 2:
        raise ValueError("threshold_audit needs at least two members and two non-members")
    if not 0 <= delta < 1 or not 0 < confidence < 1:
        raise ValueError("delta must be in [0, 1) and confidence in (0, 1)")
    significance = 1 - confidence
    rng = np.random.default_rng(seed)
    members, nonmembers = rng.permutation(members), rng.permutation(nonmembers)
    select_m, audit_m = members[: members.size // 2], members[members.size // 2 :]
    select_n, audit_n = nonmembers[: nonmembers.size // 2], nonmembers[nonmembers.size // 2 :]

    candidates = _candidate_thresholds(np.concatenate([select_m, select_n]))
    if candidates.size == 0:  # every score alike: no test separates anything
        return ThresholdAudit(0.0, float(members[0]), True, 1.0, 1.0)
    best = (-1.0, 0.0, True)
    for above in (True, False):
        epsilons, _, _ = _bounds(select_m, select_n, candidates, above, delta, significance)
        i = int(np.argmax(epsilons))
        if epsilons[i] > best[0]:
            best = (float(epsilons[i]), float(candidates[i]), above)
    _, threshold, above = best
    epsilon, fpr_high, fnr_high = _bounds(audit_m, audit_n, np.array([threshold]), above, delta, significance)
    return ThresholdAudit(float(epsilon[0]), threshold, above, float(fpr_high[0]), float(fnr_high[0]))


def strongest_threshold_audit(
    scores_by_attack: dict[str, tuple[np.ndarray, np.ndarray]],
    delta: float,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[str, ThresholdAudit]:
    """The largest :func:`threshold_audit` bound over several attacks' (member, non-member)
    scores, and the attack that gave it, each held to a Bonferroni share of the confidence
    as in :func:`strongest_one_run_audit`."""
    if not scores_by_attack:
        raise ValueError("strongest_threshold_audit needs at least one attack's scores")
    share = 1 - (1 - confidence) / len(scores_by_attack)
    audits = {
        name: threshold_audit(members, nonmembers, delta, share, seed)
        for name, (members, nonmembers) in scores_by_attack.items()
    }
    best = max(audits, key=lambda name: audits[name].epsilon)
    return best, audits[best]


def one_run_p_value(canaries: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """Probability, under (epsilon, delta)-DP, of at least ``correct`` right guesses out of
    ``guesses`` about ``canaries`` canaries each inserted with probability 1/2 (Steinke et
    al. 2023): P[W >= v] for W ~ Binomial(guesses, e^eps / (1 + e^eps)), plus
    2 m delta max_i (P[W >= v - i] - P[W >= v]) / i over i = 1..v for delta > 0."""
    q = special.expit(epsilon)
    tail = stats.binom.sf(correct - 1, guesses, q)
    if delta == 0 or correct == 0:
        return float(tail)
    i = np.arange(1, correct + 1)
    slack = np.max((stats.binom.sf(correct - i - 1, guesses, q) - tail) / i)
    return float(min(1.0, tail + 2 * canaries * delta * slack))


def one_run_audit(
    scores,
    included,
    guesses: int,
    delta: float,
    confidence: float = 0.95,
) -> OneRunAudit:
    """epsilon lower bound at ``delta`` from one training run (Steinke et al. 2023).

    ``included[i]`` says whether audit canary i was inserted (each with probability 1/2,
    drawn before training); a higher ``scores[i]`` means more member-like. The auditor
    guesses "in" for the ``guesses // 2`` highest scores and "out" for the ``guesses // 2``
    lowest, abstaining on the rest; ``guesses`` must be fixed before the scores are seen.
    The bound is the largest epsilon at which that many right guesses have probability at
    most 1 - ``confidence`` (``one_run_p_value``), or 0.
    """
    scores = np.asarray(scores, dtype=float)
    included = np.asarray(included, dtype=bool)
    m = scores.size
    if included.size != m:
        raise ValueError("scores and included must have the same length")
    per_side = min(guesses // 2, m // 2)
    if per_side < 1:
        raise ValueError("one_run_audit needs at least one guess per side")
    order = np.argsort(scores, kind="stable")
    correct = int(included[order[m - per_side :]].sum() + (~included[order[:per_side]]).sum())
    n_guesses = 2 * per_side
    return OneRunAudit(_one_run_epsilon(m, n_guesses, correct, delta, confidence), n_guesses, correct, m)


def one_run_ceiling(canaries: int, guesses: int, delta: float, confidence: float = 0.95) -> float:
    """The largest bound :func:`one_run_audit` can give with ``canaries`` canaries and
    ``guesses`` guesses, every one of them right: an audit this size cannot show more, so a
    run whose true epsilon is above it can still pass."""
    n_guesses = 2 * min(guesses // 2, canaries // 2)
    return _one_run_epsilon(canaries, n_guesses, n_guesses, delta, confidence)


def _one_run_epsilon(m: int, guesses: int, correct: int, delta: float, confidence: float) -> float:
    significance = 1 - confidence

    def refuted(epsilon: float) -> float:
        return significance - one_run_p_value(m, guesses, correct, epsilon, delta)

    if refuted(0.0) <= 0:
        return 0.0
    if refuted(EPSILON_CAP) > 0:
        return EPSILON_CAP
    return float(optimize.brentq(refuted, 0.0, EPSILON_CAP, xtol=1e-6))


def strongest_one_run_audit(
    scores_by_attack: dict[str, np.ndarray],
    included,
    guesses: int,
    delta: float,
    confidence: float = 0.95,
) -> tuple[str, OneRunAudit]:
    """The largest :func:`one_run_audit` bound over several attacks' scores of the same
    canaries, and the attack that gave it. Taking the best of n bounds spends the failure
    probability n times, so each is held to a Bonferroni share, confidence
    1 - (1 - ``confidence``) / n, and the best of them holds at ``confidence``."""
    if not scores_by_attack:
        raise ValueError("strongest_one_run_audit needs at least one attack's scores")
    share = 1 - (1 - confidence) / len(scores_by_attack)
    audits = {
        name: one_run_audit(scores, included, guesses, delta, share) for name, scores in scores_by_attack.items()
    }
    best = max(audits, key=lambda name: audits[name].epsilon)
    return best, audits[best]


def gaussian_mechanism_epsilon(mu: float, delta: float) -> float:
    """The exact epsilon at ``delta`` of a Gaussian mechanism with sensitivity / sigma = mu
    (Balle & Wang, "Improving the Gaussian mechanism for differential privacy", ICML 2018,
    Theorem 8): the epsilon where Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu) = delta."""

    def excess(epsilon: float) -> float:
        norm = stats.norm
        return norm.cdf(mu / 2 - epsilon / mu) - math.exp(epsilon) * norm.cdf(-mu / 2 - epsilon / mu) - delta

    if excess(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(excess, 0.0, EPSILON_CAP))
