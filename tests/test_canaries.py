import random

import pandas as pd

from rotelab.canaries import (
    CanaryConfig,
    PatientRecords,
    canary_generators,
    candidate_secrets,
    inject,
    make_canaries,
)


def test_canaries_are_deterministic_and_balanced():
    cfg = CanaryConfig(replicas=(1, 4), n_per_replica=3, seed=11)
    a, b = make_canaries(cfg), make_canaries(cfg)
    pd.testing.assert_frame_equal(a, b)
    assert a.groupby("replicas").size().to_dict() == {0: 6, 1: 3, 4: 3}
    assert a["inserted"].sum() == (~a["inserted"]).sum()
    assert a["secret"].is_unique
    assert make_canaries(CanaryConfig(replicas=(1, 4), n_per_replica=3, seed=12))["secret"].tolist() != a["secret"].tolist()


def test_secret_is_in_target_not_source():
    table = make_canaries(CanaryConfig(replicas=(2,), n_per_replica=5))
    for row in table.itertuples():
        assert row.secret in row.tgt
        assert row.secret not in row.src
        assert row.template.replace("{secret}", row.secret) == row.tgt


def test_inject_repeats_each_inserted_canary_replicas_times():
    train = pd.DataFrame({"pair_id": [0, 1, 2], "src": ["a", "b", "c"], "tgt": ["x", "y", "z"]})
    canaries = make_canaries(CanaryConfig(replicas=(1, 3), n_per_replica=2))
    mixed = inject(train, canaries, seed=0)
    assert len(mixed) == 3 + 2 * 1 + 2 * 3
    counts = mixed[mixed.canary_id >= 0].groupby("canary_id").size()
    expected = canaries.set_index("canary_id")["replicas"]
    assert (counts == expected[counts.index]).all()
    never = canaries.loc[~canaries.inserted, "src"]
    assert not set(never) & set(mixed["src"])
    assert mixed["pair_id"][mixed.canary_id >= 0].min() > 2


def test_candidate_secrets_are_distinct_same_format_and_seeded():
    gen = canary_generators.get("patient-records")()
    assert isinstance(gen, PatientRecords)
    c1 = candidate_secrets("patient-records", "123-45-6789", 200, seed=0)
    assert c1 == candidate_secrets("patient-records", "123-45-6789", 200, seed=0)
    assert len(set(c1)) == 200 and "123-45-6789" not in c1
    assert all(len(s) == 11 and s[3] == "-" and s[6] == "-" for s in c1)
    assert gen.sample_secrets(3, random.Random(1)) == gen.sample_secrets(3, random.Random(1))
