"""Scores over a real (tiny) reference ensemble and over hand-built observations."""

import numpy as np
import pandas as pd
import pytest

from rotelab.data.classification import dataset_table
from rotelab.membership.matrix import draw_matrix
from rotelab.membership.reference_scores import (
    attack_scores,
    counterfactual_memorization,
    summarise_attacks,
    summarise_counterfactual,
    target_attack_scores,
)
from rotelab.models.classifier import (
    ClassifierTrainConfig,
    observe,
    train_reference_classifiers,
)


def test_counterfactual_memorization_hand_case():
    # example 0: right only when trained on (CM 1); example 1: always right (CM 0)
    member = np.array([[True, False], [True, True], [False, True], [False, False]])
    rows = [
        {
            "model": k,
            "example": i,
            "member": member[k, i],
            "correct": bool(member[k, i]) or i == 1,
            "prob": 0.9 if member[k, i] else 0.3,
        }
        for k in range(4)
        for i in range(2)
    ]
    cm = counterfactual_memorization(pd.DataFrame(rows)).set_index("example")
    assert cm.loc[0, "cm_accuracy"] == 1.0 and cm.loc[1, "cm_accuracy"] == 0.0
    assert cm.loc[0, "cm_probability"] == pytest.approx(0.6) and (cm["n_in"] == 2).all()
    summary = summarise_counterfactual(cm.reset_index(), 100, 0).set_index(["score", "metric"])
    assert summary.loc[("cm_accuracy", "mean"), "value"] == 0.5
    assert summary.loc[("cm_accuracy", "share_above_0.5"), "value"] == 0.5


@pytest.fixture(scope="module")
def observations():
    pool = dataset_table("breast-cancer")
    matrix = draw_matrix(len(pool), 8, 0)
    cfg = ClassifierTrainConfig(hidden=(32,), epochs=40, batch_size=32, lr=3e-3)
    ensemble = train_reference_classifiers(pool, matrix, cfg, seed=0, log=lambda *_: None)
    return observe(ensemble, pool, matrix)


def test_reference_models_fit_their_training_sets(observations):
    assert len(observations) == 8 * 569
    train = observations.loc[observations["member"], "correct"].mean()
    held_out = observations.loc[~observations["member"], "correct"].mean()
    assert train > 0.99 and 0.85 < held_out < train
    # phi is log(p / (1 - p)) of the true label
    p = observations["prob"].clip(1e-6, 1 - 1e-6)
    ok = observations["prob"].between(1e-4, 1 - 1e-4)
    np.testing.assert_allclose(observations.loc[ok, "phi"], np.log(p / (1 - p))[ok], rtol=1e-3, atol=1e-3)


def test_attacks_over_the_ensemble(observations):
    scores = attack_scores(observations, ["lira_online_fixed", "loss"])
    assert set(scores.columns) == {"attack", "model", "example", "member", "score"}
    assert len(scores) == 2 * len(observations)
    loss = scores[scores["attack"] == "loss"].reset_index(drop=True)
    np.testing.assert_allclose(loss["score"], observations["logprob"], rtol=1e-6)
    summary = summarise_attacks(scores, 100, 0).set_index(["attack", "metric"])
    for attack in ("lira_online_fixed", "loss"):
        row = summary.loc[(attack, "auc")]
        assert 0.5 < row["value"] < 1 and row["ci_low"] <= row["value"] <= row["ci_high"]
    # calibrating per example beats the raw loss at low FPR (LiRA's point)
    assert (
        summary.loc[("lira_online_fixed", "tpr_at_1pct_fpr"), "value"]
        > summary.loc[("loss", "tpr_at_1pct_fpr"), "value"]
    )


def test_attack_summaries_resample_examples():
    """Over K models x N examples the interval draws examples with all their pairs: here half
    the examples are vulnerable, a trait their K pairs share, so it is wider than the pairs'."""
    from rotelab.core.stats import membership_summary

    rng = np.random.default_rng(4)
    k, n = 16, 30
    member = draw_matrix(n, k, 2)
    score = rng.normal(size=(k, n)) + 3.0 * (member & (rng.random(n) < 0.5))
    example = np.broadcast_to(np.arange(n) + 50, (k, n))
    scores = pd.DataFrame(
        {
            "attack": "a",
            "model": np.repeat(np.arange(k), n),
            "example": example.reshape(-1),
            "member": member.reshape(-1),
            "score": score.reshape(-1),
        }
    )
    got = summarise_attacks(scores, 200, 0).set_index("metric")
    pos, neg = score[member], score[~member]
    by_example = membership_summary(pos, neg, 200, 0, groups=(example[member], example[~member]))
    for row in by_example:
        assert tuple(got.loc[row["metric"], ["ci_low", "ci_high"]]) == (row["ci_low"], row["ci_high"])
    by_pair = membership_summary(pos, neg, 200, 0)[0]
    assert got.loc["auc", "ci_high"] - got.loc["auc", "ci_low"] > 1.5 * (by_pair["ci_high"] - by_pair["ci_low"])


def test_an_outside_target_is_scored_against_all_references():
    """A target outside the reference set: LiRA online (fixed variance) from the K
    references' IN and OUT statistics by hand, and independent of the target's flag."""
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    k, n = 8, 5
    member = draw_matrix(n, k, 1)
    phi = rng.normal(member * 2.0, 1.0)
    references = pd.DataFrame(
        {
            "model": np.repeat(np.arange(k), n),
            "example": np.tile(np.arange(n) + 100, k),
            "member": member.reshape(-1),
            "phi": phi.reshape(-1),
            "logprob": -1.0,
            "logprob_mean": -1.0,
            "logprob_std": 1.0,
        }
    )
    target = pd.DataFrame(
        {
            "example": np.arange(n) + 100,
            "member": [True, False, True, False, False],
            "phi": rng.normal(1.0, 1.0, n),
            "logprob": -0.5,
            "logprob_mean": -1.0,
            "logprob_std": 1.0,
        }
    )
    scores = target_attack_scores(references, target, ["lira_online_fixed", "loss"])
    lira = scores[scores["attack"] == "lira_online_fixed"]
    assert (
        lira["example"].tolist() == target["example"].tolist() and lira["member"].tolist() == target["member"].tolist()
    )
    mu_in = np.array([phi[member[:, i], i].mean() for i in range(n)])
    mu_out = np.array([phi[~member[:, i], i].mean() for i in range(n)])
    sd_in = np.sqrt(np.mean([phi[member[:, i], i].var(ddof=1) for i in range(n)]))
    sd_out = np.sqrt(np.mean([phi[~member[:, i], i].var(ddof=1) for i in range(n)]))
    expected = norm.logpdf(target["phi"], mu_in, sd_in) - norm.logpdf(target["phi"], mu_out, sd_out)
    np.testing.assert_allclose(lira["score"], expected, rtol=1e-9)
    flipped = target_attack_scores(references, target.assign(member=~target["member"]), ["lira_online_fixed"])
    np.testing.assert_allclose(flipped["score"], lira["score"], rtol=1e-12)
    assert (scores.loc[scores["attack"] == "loss", "score"] == -0.5).all()


def test_rmia_over_the_ensemble_reads_the_population():
    from rotelab.membership.matrix import hold_out_population
    from rotelab.membership.rmia import rmia_all_targets

    pool, population = hold_out_population(dataset_table("breast-cancer"), 0.2, seed=0)
    matrix = draw_matrix(len(pool), 8, 0)
    cfg = ClassifierTrainConfig(hidden=(32,), epochs=40, batch_size=32, lr=3e-3)
    ensemble = train_reference_classifiers(pool, matrix, cfg, seed=0, log=lambda *_: None)
    seen = observe(ensemble, pool, matrix)
    outside = observe(ensemble, population, np.zeros((8, len(population)), bool))
    scores = attack_scores(seen, ["rmia_online", "rmia_offline", "loss"], population=outside)
    online = scores[scores["attack"] == "rmia_online"]
    # the same numbers as the library function on the wide arrays
    wide = seen.pivot(index="model", columns="example", values="prob").to_numpy()
    z = outside.pivot(index="model", columns="example", values="prob").to_numpy()
    np.testing.assert_allclose(online["score"], rmia_all_targets(wide, matrix, z, offline=False).reshape(-1))
    summary = summarise_attacks(scores, 200, 0).set_index(["attack", "metric"])["value"]
    assert summary[("rmia_online", "auc")] > summary[("loss", "auc")]
    with pytest.raises(ValueError, match="population samples"):
        attack_scores(seen, ["rmia_online"])
    # no population held out (membership.population: 0): the other attacks still score
    none = attack_scores(seen, ["loss"], population=outside.iloc[:0])
    np.testing.assert_allclose(none["score"], scores.loc[scores["attack"] == "loss", "score"])
    with pytest.raises(ValueError, match="population samples"):
        attack_scores(seen, ["rmia_offline"], population=outside.iloc[:0])
    with pytest.raises(ValueError, match="OUT for every model"):
        attack_scores(seen, ["rmia_online"], population=outside.assign(member=True))


def test_reference_model_sweep_marks_what_few_references_cannot_compute():
    from rotelab.membership.matrix import hold_out_population
    from rotelab.membership.sweep import reference_model_sweep

    pool, population = hold_out_population(dataset_table("breast-cancer"), 0.2, seed=0)
    cfg = ClassifierTrainConfig(hidden=(32,), epochs=20, batch_size=32, lr=3e-3)
    table = reference_model_sweep(
        pool,
        population,
        [2, 8],
        ["rmia_online", "rmia_offline", "lira_online_fixed", "loss"],
        cfg,
        0,
        "cpu",
        50,
        0,
        log=lambda *_: None,
    )
    auc = table[table["metric"] == "auc"].set_index(["models", "attack"])
    for attack, reason in (("lira_online_fixed", "two IN and two OUT"), ("rmia_offline", "three models")):
        assert np.isnan(auc.loc[(2, attack), "value"]) and reason in auc.loc[(2, attack), "note"]
    for k, attack in [(2, "rmia_online"), (2, "loss"), (8, "rmia_offline"), (8, "lira_online_fixed")]:
        assert 0 < auc.loc[(k, attack), "value"] < 1 and auc.loc[(k, attack), "note"] == ""
    assert auc.loc[(8, "rmia_online"), "ci_low"] > 0.5  # a real membership signal at K = 8
    computed = table[table["value"].notna()]
    assert (computed["n"] == computed["models"] * len(pool)).all()  # every (model, example) pair
    # without population samples the sweep still runs the attacks that need none
    loss_only = reference_model_sweep(
        pool, population.iloc[:0], [2], ["loss"], cfg, 0, "cpu", 20, 0, log=lambda *_: None
    )
    assert loss_only.loc[loss_only["metric"] == "auc", "value"].notna().all()
