import pytest

from rotelab.scoring.translation_metrics import (
    ExMemConfig,
    HallucinationConfig,
    basic_tokenize,
    bleu,
    chrf,
    exmem_eligible,
    is_exmem,
    natural,
    oscillation_testable,
    oscillatory,
    replicated,
    shortest_reproducing_prefix,
    source_prefixes,
)


def test_bleu_and_chrf_perfect_and_bounded():
    refs = ["Das ist ein kleiner Test .", "Ich habe heute keine Zeit ."]
    perfect = bleu(refs, refs, n_boot=20)
    assert perfect["value"] == pytest.approx(100.0) and perfect["n"] == 2
    assert chrf(refs, refs, n_boot=20)["value"] == pytest.approx(100.0)
    worse = bleu(["Das ist ein Test .", "Keine Zeit ."], refs, n_boot=20)
    assert 0 < worse["value"] < 100
    assert worse["ci_low"] <= worse["value"] <= worse["ci_high"]


def test_replication_is_exact_up_to_whitespace():
    assert list(replicated([" a b ", "a b.", "a  b"], ["a b", "a b", "a b"])) == [True, False, False]


def test_basic_tokenize_matches_bert_basic_tokenizer():
    assert basic_tokenize("Héllo, World! Das ist's.") == ["hello", ",", "world", "!", "das", "ist", "'", "s", "."]


def test_oscillation_testable_drops_too_short_pairs():
    assert oscillation_testable("a b", "c d")
    assert not oscillation_testable("a", "c d") and not oscillation_testable("a b", "")


def test_exmem_filters():
    cfg = ExMemConfig()
    assert exmem_eligible("one two three four", "eins zwei drei vier", cfg)
    assert not exmem_eligible("one two three", "eins zwei drei", cfg)  # < 4 source words
    assert not exmem_eligible("one two three four", "a b c d e f", cfg)  # ratio 1.5
    assert not exmem_eligible("one two three four", "one two three four", cfg)  # copy


def test_prefixes_and_shortest_prefix():
    # memseqkd tries 1 .. n-2 words; the (n-1)-word prefix is never decoded
    assert source_prefixes("a b c d e") == ["a", "a b", "a b c"]
    outputs = ["x", "T", "T"]
    assert shortest_reproducing_prefix(outputs, "T", 4) == 2
    assert shortest_reproducing_prefix(["x", "y", "z"], "T", 4) == 4
    assert is_exmem(3, 4, 0.75) and not is_exmem(4, 4, 0.75)


def test_oscillatory_hallucination():
    cfg = HallucinationConfig()
    src = "the cat sat on the mat".split()
    looping = ("die katze " * 12).split()  # bigram (die, katze) 12 times
    assert oscillatory(src, looping, cfg)
    assert not oscillatory(src, ("die katze " * 10).split(), cfg)  # 10 is not > 10
    long_src = ["w"] * 60
    assert not oscillatory(long_src, looping, cfg)


def test_natural_hallucination_needs_five_sources_and_a_bad_output():
    cfg = HallucinationConfig()
    sources = [f"source {i}" for i in range(6)]
    hyps = ["Er ist tot."] * 5 + ["Guten Morgen."]
    refs = ["Die Sonne scheint heute hell."] * 5 + ["Guten Morgen."]
    flags = natural(sources, hyps, refs, cfg)
    assert list(flags) == [True] * 5 + [False]
    # four sources sharing one output is not enough
    assert not natural(sources[:4], hyps[:4], refs[:4], cfg).any()
    # a shared output that matches its reference is not a hallucination
    assert not natural(sources[:5], refs[:5], refs[:5], cfg).any()


def test_seqkd_summary_on_a_hand_built_case():
    import pandas as pd

    from rotelab.papers.seqkd.scores import (
        memorization_references,
        prefix_requests,
        summarise,
        training_examples,
    )

    train = pd.DataFrame(
        {
            "pair_id": [0, 1, 2],
            "src": ["w1 w2 w3 w4", "v1 v2 v3 v4 v5", "u1 u2 u3 u4"],
            "tgt": ["x1 x2 x3 x4", "y1 y2 y3 y4 y5", "z1 z2 z3 z4"],
            "hyp": ["x1 x2 x3 x4", "y1 y2 y3 y4 y5", "wrong output here"],
        }
    )
    refs = memorization_references(train, kd=None)
    requests = prefix_requests(refs, ExMemConfig())
    # pairs 0 and 1 replicate; 4 words -> prefixes of 1..2 words, 5 words -> 1..3
    assert requests.groupby("pair_id").size().to_dict() == {0: 2, 1: 3}
    outputs = {(0, 1): "x1", (0, 2): "x1 x2 x3 x4", (1, 1): "y1", (1, 2): "y1 y2", (1, 3): "y1 y2 y3"}
    requests["output"] = [outputs[(p, i)] for p, i in zip(requests.pair_id, requests.i)]
    examples = training_examples(refs, requests, ExMemConfig(), HallucinationConfig())
    assert examples.set_index("pair_id")["min_prefix"].tolist()[:2] == [2, 5]
    test = pd.DataFrame({"tgt": ["a b c d"], "hyp": ["a b c d"]})
    summary = summarise(examples, test, n_boot=20, seed=0).set_index("metric")
    assert summary.loc["replication", "value"] == pytest.approx(2 / 3) and summary.loc["replication", "n"] == 3
    # pair 0 reproduces from 2 of 4 words (0.5 <= 0.75); pair 1 never does
    assert summary.loc["exmem", "value"] == pytest.approx(1 / 2) and summary.loc["exmem", "n"] == 2
    assert summary.loc["exmem_of_corpus", "value"] == pytest.approx(1 / 3)
    assert summary.loc["bleu", "value"] == pytest.approx(100.0)
