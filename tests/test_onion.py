import numpy as np
import pandas as pd
import pytest

from rotelab.papers.onion.layers import (
    most_vulnerable,
    next_pool,
    parse_pool,
    pool_names,
    previous_pool,
    vulnerability,
)


def test_pool_names_chain_layers_per_arm():
    assert pool_names(2) == ["full", "targeted1", "targeted2", "random1", "random2"]
    assert parse_pool("full") == (None, 0) and parse_pool("random12") == ("random", 12)
    assert previous_pool("targeted1") == "full" and previous_pool("random3") == "random2"
    with pytest.raises(ValueError, match="onion pool"):
        parse_pool("targeted0")


def scores_table():
    """Three examples x four models: example 7 scores high whenever it is IN, example 8
    half the time, example 9 never; OUT scores spread over [0, 1)."""
    rows = []
    for model in range(4):
        for ex, member in ((7, model < 2), (8, model % 2 == 0), (9, model >= 2)):
            if member:
                score = {7: 5.0, 8: 5.0 if model == 0 else 0.1, 9: 0.2}[ex]
            else:
                score = 0.1 * model + 0.01 * ex
            rows.append({"model": model, "example": ex, "member": member, "score": score})
    return pd.DataFrame(rows)


def test_vulnerability_is_the_tpr_at_a_global_fpr_threshold():
    v = vulnerability(scores_table(), fpr=0.01, vulnerable_tpr=0.5).set_index("example")
    assert v.loc[7, "tpr"] == 1.0 and v.loc[8, "tpr"] == 0.5 and v.loc[9, "tpr"] == 0.0
    assert list(v["vulnerable"]) == [True, True, False]
    assert (v["n_in"] == 2).all()
    # the threshold lets no OUT score through at 1% FPR with 6 OUT scores
    assert v["threshold"].iloc[0] == pytest.approx(0.38)  # the highest OUT score (model 3, example 8)
    assert list(most_vulnerable(v.reset_index(), 2)) == [7, 8]


def test_next_pool_removes_the_most_vulnerable_or_random_examples():
    pool = pd.DataFrame({"example": [7, 8, 9], "label": [0, 1, 0]})
    v = vulnerability(scores_table(), 0.01, 0.5)
    assert list(next_pool(pool, v, "targeted", 1, 0)["example"]) == [8, 9]
    random_a, random_b = (next_pool(pool, None, "random", 2, s)["example"].tolist() for s in (0, 0))
    assert random_a == random_b and len(random_a) == 1
    with pytest.raises(ValueError, match="cannot remove"):
        next_pool(pool, v, "targeted", 3, 0)
    with pytest.raises(ValueError, match="unknown onion arm"):
        next_pool(pool, v, "sideways", 1, 0)


def test_random_arm_removal_differs_by_seed():
    pool = pd.DataFrame({"example": np.arange(100), "label": 0})
    assert set(next_pool(pool, None, "random", 10, 1)["example"]) != set(
        next_pool(pool, None, "random", 10, 2)["example"]
    )
