import numpy as np
import pytest

from rotelab.translation_metrics import (
    ExMemConfig,
    HallucinationConfig,
    bleu,
    chrf,
    exmem_eligible,
    is_exmem,
    natural,
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
    assert list(replicated(["a  b", "a b."], ["a b", "a b"])) == [True, False]


def test_exmem_filters():
    cfg = ExMemConfig()
    assert exmem_eligible("one two three four", "eins zwei drei vier", cfg)
    assert not exmem_eligible("one two three", "eins zwei drei", cfg)  # < 4 source words
    assert not exmem_eligible("one two three four", "a b c d e f", cfg)  # ratio 1.5
    assert not exmem_eligible("one two three four", "one two three four", cfg)  # copy


def test_prefixes_and_shortest_prefix():
    assert source_prefixes("a b c d") == ["a", "a b", "a b c"]
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
