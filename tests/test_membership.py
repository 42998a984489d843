import numpy as np
import pytest

from rotelab.membership.matrix import draw_matrix, from_table, members_of, to_table


@pytest.mark.parametrize("k,n", [(6, 1), (8, 37), (16, 500)])
def test_every_example_is_in_for_exactly_half_the_models(k, n):
    m = draw_matrix(n, k, seed=3)
    assert m.shape == (k, n) and m.dtype == bool
    assert (m.sum(0) == k // 2).all()
    # training sets are about half the examples each, and differ between models
    if n >= 37:
        assert abs(m.sum(1).mean() - n / 2) < 1e-9 and len({tuple(r) for r in m}) == k


def test_matrix_is_seeded():
    assert (draw_matrix(50, 8, 1) == draw_matrix(50, 8, 1)).all()
    assert (draw_matrix(50, 8, 1) != draw_matrix(50, 8, 2)).any()


@pytest.mark.parametrize("k", [0, 1, 5])
def test_odd_or_tiny_k_is_rejected(k):
    with pytest.raises(ValueError, match="even"):
        draw_matrix(10, k, 0)


def test_table_round_trip_keeps_example_order():
    m = draw_matrix(5, 4, 0)
    ids = np.array([40, 3, 17, 8, 25])
    table = to_table(m, ids)
    assert len(table) == 20 and set(table.columns) == {"model", "example", "member"}
    back, back_ids = from_table(table.sample(frac=1, random_state=0).sort_values("model", kind="stable"))
    order = np.argsort(back_ids)
    assert (back[:, order] == m[:, np.argsort(ids)]).all()
    assert list(members_of(m, 2)) == list(np.flatnonzero(m[2]))
