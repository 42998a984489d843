import random

import pandas as pd
import pytest

from rotelab.data.canaries import (
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
    assert (
        make_canaries(CanaryConfig(replicas=(1, 4), n_per_replica=3, seed=12))["secret"].tolist()
        != a["secret"].tolist()
    )


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


@pytest.mark.parametrize("name", ["patient-records", "patient-notes"])
def test_secret_space_counts_every_secret_the_generator_can_draw(name):
    # |R| bounds exposure by extrapolation: each of the secret's digits takes all ten values.
    gen = canary_generators.get(name)()
    secrets = gen.sample_secrets(5000, random.Random(0))
    digits = sum(ch.isdigit() for ch in secrets[0])
    assert gen.secret_space == 10**digits == 10**9
    assert all(sum(ch.isdigit() for ch in s) == digits for s in secrets)
    assert all({s[i] for s in secrets} == set("0123456789") for i in range(len(secrets[0])) if secrets[0][i].isdigit())


def test_patient_notes_are_long_seeded_records_with_the_secret_inside():
    gen = canary_generators.get("patient-notes")()
    notes = gen.make(5, seed=2)
    assert [c.tgt for c in notes] == [c.tgt for c in gen.make(5, seed=2)]
    for c in notes:
        assert c.tgt.startswith("Medical Note: ") and f"SSN {c.secret}." in c.tgt
        assert c.tgt.count("Seen in ") == gen.visits and len(c.tgt.split()) > 120
    assert len({c.secret for c in notes}) == 5
    table = make_canaries(CanaryConfig(generator="patient-notes", replicas=(1, 10), n_per_replica=2))
    assert table.groupby("replicas").size().to_dict() == {0: 4, 1: 2, 10: 2}


def test_canaries_do_not_depend_on_todays_date(monkeypatch):
    """Faker's date_of_birth counts from today; the same seed must give the same canaries
    on any day."""
    import datetime

    from faker.providers.date_time import Provider

    before = make_canaries(CanaryConfig(replicas=(1,), n_per_replica=3, seed=5))
    monkeypatch.setattr(Provider, "date_of_birth", lambda *a, **k: datetime.date(1900, 1, 1))
    monkeypatch.setattr(Provider, "date_this_decade", lambda *a, **k: datetime.date(1900, 1, 1))
    pd.testing.assert_frame_equal(make_canaries(CanaryConfig(replicas=(1,), n_per_replica=3, seed=5)), before)


def test_document_canaries_are_dealt_to_clients_by_size():
    from rotelab.data.canaries import make_document_canaries

    table = make_document_canaries("patient-notes", [1, 10], 10, [100, 300, 600], seed=3)
    assert len(table) == 40 and table["canary_id"].is_unique
    inserted = table[table.inserted]
    assert sorted(inserted["duplication"].unique()) == [1, 10]
    for _, group in inserted.groupby("duplication"):
        assert group.groupby("client").size().to_dict() == {0: 1, 1: 3, 2: 6}
    never = table[~table.inserted]
    assert (never["duplication"] == 0).all() and (never["client"] == -1).all()
    assert all(secret in text for secret, text in zip(table["secret"], table["text"]))
    assert table.equals(make_document_canaries("patient-notes", [1, 10], 10, [100, 300, 600], seed=3))


def test_population_notes_continue_the_canaries_stream_and_repeat_none():
    from rotelab.data.canaries import make_document_canaries, make_population_notes

    canaries = make_document_canaries("patient-notes", [1, 10], 3, [1, 2], seed=4, visits=1)
    population = make_population_notes("patient-notes", [1, 10], 3, 5, seed=4, visits=1)
    assert population["canary_id"].tolist() == list(range(12, 17))
    assert not set(population["text"]) & set(canaries["text"])
    assert not set(population["secret"]) & set(canaries["secret"])
    assert population.equals(make_population_notes("patient-notes", [1, 10], 3, 5, seed=4, visits=1))
    # the same generator and options: notes of the same form
    assert all(text.startswith("Medical Note:") and "Seen in" in text for text in population["text"])
