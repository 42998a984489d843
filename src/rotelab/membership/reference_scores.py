"""Scores over a reference-model ensemble: attacks (per model and example), their summary,
and counterfactual memorization (per example). Everything reads one observations table
(``classifier.observe``: one row per model and example, with the membership matrix's
``member`` flag), so every score agrees on who trained on what.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rotelab.core.stats import MEMBERSHIP_METRICS, mean_with_interval, membership_summary, rate
from rotelab.membership.attacks import REFERENCE_ATTACKS, AttackConfig, ReferenceObservations, attacks
from rotelab.scoring.token_scores import TokenScores

# LiRA's statistic is the logit-scaled confidence; other reference attacks use it too.
REFERENCE_STATISTIC = "phi"


def _wide(observations: pd.DataFrame, column: str) -> np.ndarray:
    """(K, N) array of ``column``, models in order, examples in first-seen order."""
    ids = pd.unique(observations["example"])
    return observations.pivot(index="model", columns="example", values=column).loc[:, ids].to_numpy()


def attack_scores(
    observations: pd.DataFrame, names, cfg: AttackConfig | None = None, population: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per attack, model and example: ``score`` (higher = member) and ``member``.

    Reference attacks see the statistic of every model (each model the target in turn);
    single-model attacks see the label's log-probability as a one-token sequence, so
    ``loss`` is Yeom et al.'s log p_y and ``min_k_pp`` its standardised form.
    ``population``: the same models observed on examples none of them trained on (one row
    per model and example, with ``prob``), which RMIA needs."""
    cfg = cfg or AttackConfig()
    member = _wide(observations, "member").astype(bool)
    ids = pd.unique(observations["example"])
    k, n = member.shape
    frames = []
    reference = ReferenceObservations(
        _wide(observations, REFERENCE_STATISTIC),
        member,
        prob=_wide(observations, "prob") if "prob" in observations else None,
        population=_population_probabilities(population, k),
    )
    logprob, mean, std = (_wide(observations, c) for c in ("logprob", "logprob_mean", "logprob_std"))
    for name in names:
        if name in REFERENCE_ATTACKS:
            scores = attacks.get(name)(reference)
        else:
            attack = attacks.get(name)
            scores = np.array(
                [
                    [
                        attack(TokenScores(logprob[i, j : j + 1], mean[i, j : j + 1], std[i, j : j + 1]), "", cfg)
                        for j in range(n)
                    ]
                    for i in range(k)
                ]
            )
        frames.append(
            pd.DataFrame(
                {
                    "attack": name,
                    "model": np.repeat(np.arange(k), n),
                    "example": np.tile(ids, k),
                    "member": member.reshape(-1),
                    "score": np.asarray(scores).reshape(-1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _population_probabilities(population: pd.DataFrame | None, k: int) -> np.ndarray | None:
    if population is None or population.empty:  # membership.population: 0 holds none out
        return None
    probs = _wide(population, "prob")
    if probs.shape[0] != k:
        raise ValueError(f"the population was observed under {probs.shape[0]} models, the examples under {k}")
    if population["member"].any():
        raise ValueError("a population sample is marked as trained on: population samples must be OUT for every model")
    return probs


def target_attack_scores(
    references: pd.DataFrame,
    target: pd.DataFrame,
    names,
    cfg: AttackConfig | None = None,
    population: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Attack scores of one model outside the reference set (e.g. a P1 run against the
    causal-LM reference fine-tunes): ``target`` has one row per example with the
    observation columns and the target's ``member`` flag. ``population``: the population
    samples observed under the references and under the target (RMIA's z).

    The target joins the observations as model K and only its rows are kept. That is exact:
    leave-one-out over the K + 1 models leaves the target's own statistic out of its IN and
    OUT estimates, so they come from the K references alone, whatever its member flag."""
    model = int(references["model"].max()) + 1
    table = pd.concat([references, target.assign(model=model)[list(references.columns)]], ignore_index=True)
    joined = None
    if population is not None:
        under_references, under_target = population
        joined = pd.concat(
            [under_references, under_target.assign(model=model, member=False)[list(under_references.columns)]],
            ignore_index=True,
        )
    scores = attack_scores(table, names, cfg, joined)
    return scores[scores["model"] == model].reset_index(drop=True)


def summarise_attacks(scores: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Per attack: AUC, balanced accuracy, TPR at 1% and 0.1% FPR over all (model, example)
    pairs, with bootstrap intervals that resample examples: an example's K pairs share the
    example, so they are drawn together (with one target model, one pair per example, this
    is the per-side bootstrap)."""
    rows = []
    for name, frame in scores.groupby("attack", sort=False):
        member = frame["member"].to_numpy(bool)
        score = frame["score"].to_numpy(float)
        example = frame["example"].to_numpy()
        for row in membership_summary(
            score[member], score[~member], n_boot=n_boot, seed=seed, groups=(example[member], example[~member])
        ):
            rows.append({"attack": name, **row})
    return pd.DataFrame(rows)


def summarise_each_attack(
    observations: pd.DataFrame,
    names,
    n_boot: int,
    seed: int,
    population: pd.DataFrame | None = None,
    cfg: AttackConfig | None = None,
    log=print,
) -> pd.DataFrame:
    """:func:`summarise_attacks` attack by attack, with a ``note`` column: an attack that
    needs more references than the ensemble has (LiRA two IN and two OUT per example once
    the target is left out, offline RMIA three models to tune its scaling) gets one row per
    metric with no value and the reason in its note, not a number."""
    frames = []
    for name in names:
        try:
            scores = attack_scores(observations, [name], cfg, population)
        except ValueError as exc:
            log(f"{name}: not computed ({exc})")
            frames.append(
                pd.DataFrame({"attack": name, "metric": list(MEMBERSHIP_METRICS), "value": np.nan}).assign(
                    n=0, ci_low=np.nan, ci_high=np.nan, note=str(exc)
                )
            )
            continue
        summary = summarise_attacks(scores, n_boot, seed)
        log(f"{name}: AUC {summary.loc[summary['metric'] == 'auc', 'value'].iloc[0]:.3f}")
        frames.append(summary.assign(note=""))
    return pd.concat(frames, ignore_index=True)


def counterfactual_memorization(observations: pd.DataFrame) -> pd.DataFrame:
    """Per example, mean over IN models minus mean over OUT models of a per-model measure
    (Zhang et al. 2021, "Counterfactual Memorization in Neural Language Models", eq. 1):

    - ``cm_accuracy``: of correctness (Zhang et al.'s accuracy-based score);
    - ``cm_probability``: of the probability of the true label, the classifier's analogue of
      P3's geometric-mean target-token probability (a one-token target).

    Also the IN and OUT means and counts, so a reader can recompute either."""
    member = _wide(observations, "member").astype(bool)
    out = {"example": pd.unique(observations["example"]), "n_in": member.sum(0), "n_out": (~member).sum(0)}
    for name, column in (("accuracy", "correct"), ("probability", "prob")):
        values = _wide(observations, column).astype(float)
        mean_in = np.where(member, values, 0).sum(0) / member.sum(0)
        mean_out = np.where(~member, values, 0).sum(0) / (~member).sum(0)
        out[f"in_{name}"], out[f"out_{name}"], out[f"cm_{name}"] = mean_in, mean_out, mean_in - mean_out
    return pd.DataFrame(out)


def summarise_counterfactual(per_example: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Mean CM per variant with a bootstrap interval, and the share above 0.5 (Wilson)."""
    rows = []
    for name in ("accuracy", "probability"):
        values = per_example[f"cm_{name}"].to_numpy()
        rows.append({"score": f"cm_{name}", "metric": "mean", **mean_with_interval(values, n_boot, seed)})
        rows.append({"score": f"cm_{name}", "metric": "share_above_0.5", **rate(values > 0.5)})
    return pd.DataFrame(rows)
