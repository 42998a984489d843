import json

import pandas as pd
import pytest

from rotelab.data.corpora import (
    CorpusError,
    corpora,
    ding_pairs,
    load_corpus,
    parse_imp,
    parse_spec,
)
from rotelab.data.splits import DataConfig, prepare_splits


def test_parse_spec():
    assert parse_spec("ding-en-de") == ("ding-en-de", None)
    assert parse_spec("tsv:/a/b.tsv") == ("tsv", "/a/b.tsv")
    with pytest.raises(CorpusError, match="names no file"):
        parse_spec("jsonl:")


def test_registry_lists_builtin_corpora():
    assert {"ding-en-de", "bible-en-es", "tsv", "jsonl", "parquet"} <= set(corpora.names())
    with pytest.raises(KeyError, match="unknown corpus 'klingon'"):
        load_corpus("klingon")


def test_ding_pairs_align_sub_entries_and_drop_annotations():
    lines = [
        "# comment\n",
        "Haus {n} | Das Haus ist alt.; Es ist alt. :: house | The house is old.\n",
        "a | b :: only one\n",  # misaligned sub-entries are skipped
    ]
    assert list(ding_pairs(lines)) == [("house", "Haus"), ("The house is old.", "Das Haus ist alt.")]
    assert list(ding_pairs(lines[:2], reverse=True))[1] == ("Das Haus ist alt.", "The house is old.")


def test_parse_imp_strips_markup_and_notes():
    text = "$$$Genesis 1:0\n<chapter/>\n$$$Genesis 1:1\n<w>In</w> the beginning,<note>a footnote</note>God created.\n"
    assert parse_imp(text) == {"Genesis 1:1": "In the beginning, God created."}


def test_tsv_loader_and_malformed_row(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("src\ttgt\nHello there.\tHallo.\n")
    assert load_corpus(f"tsv:{good}").to_dict("records") == [{"src": "Hello there.", "tgt": "Hallo."}]
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nonly one field\n")
    with pytest.raises(CorpusError, match=r"bad\.tsv, line 2: 1 tab-separated fields, expected 2"):
        load_corpus(f"tsv:{bad}")
    empty = tmp_path / "empty.tsv"
    empty.write_text("a\tb\n \tb\n")
    with pytest.raises(CorpusError, match=r"empty\.tsv, line 2: column 'src' is empty"):
        load_corpus(f"tsv:{empty}")


def test_jsonl_loader_errors_name_the_line(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"src": "a b", "tgt": "c d"}) + "\n{not json}\n")
    with pytest.raises(CorpusError, match=r"c\.jsonl, line 2: invalid JSON"):
        load_corpus(f"jsonl:{f}")
    f.write_text(json.dumps({"src": "a b"}) + "\n")
    with pytest.raises(CorpusError, match=r"c\.jsonl, line 1: missing key\(s\) tgt"):
        load_corpus(f"jsonl:{f}")


def test_parquet_loader_errors_name_the_row(tmp_path):
    f = tmp_path / "c.parquet"
    pd.DataFrame({"src": ["a", None], "tgt": ["b", "c"]}).to_parquet(f)
    with pytest.raises(CorpusError, match=r"c\.parquet, row 2: column 'src' must be text, got None"):
        load_corpus(f"parquet:{f}")
    pd.DataFrame({"source": ["a"]}).to_parquet(f)
    with pytest.raises(CorpusError, match="missing column"):
        load_corpus(f"parquet:{f}")
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(f"parquet:{tmp_path / 'nope.parquet'}")


def _synthetic_tsv(tmp_path, n=300):
    f = tmp_path / "synthetic.tsv"
    rows = [f"this is sentence number {i} .\tdas ist satz nummer {i} ." for i in range(n)]
    rows += ["this is sentence number 0 .\tdoppelt ist satz nummer null .", "too short .\tzu kurz ."]
    f.write_text("\n".join(rows) + "\n")
    return f


def test_prepare_is_deterministic_disjoint_and_filtered(tmp_path):
    cfg = DataConfig(corpus=f"tsv:{_synthetic_tsv(tmp_path)}", n_valid=20, n_test=30, seed=3)
    a, b = prepare_splits(cfg), prepare_splits(cfg)
    for name in ("train", "valid", "test"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert (len(a["valid"]), len(a["test"]), len(a["train"])) == (20, 30, 250)
    srcs = [set(a[n]["src"]) for n in ("train", "valid", "test")]
    assert not (srcs[0] & srcs[1]) and not (srcs[0] & srcs[2]) and not (srcs[1] & srcs[2])
    everything = pd.concat(a.values())
    assert "too short ." not in set(everything["src"])  # under min_words
    assert everything["src"].is_unique  # the duplicated source kept one reference
    other = prepare_splits(DataConfig(corpus=cfg.corpus, n_valid=20, n_test=30, seed=4))
    assert set(other["test"]["src"]) != set(a["test"]["src"])


def test_prepare_rejects_a_corpus_too_small_for_the_split(tmp_path):
    cfg = DataConfig(corpus=f"tsv:{_synthetic_tsv(tmp_path, 40)}", n_valid=20, n_test=30)
    with pytest.raises(ValueError, match="data.n_valid \\+ data.n_test"):
        prepare_splits(cfg)


@pytest.mark.skipif(
    not __import__("pathlib").Path("/usr/share/trans/de-en").exists(), reason="trans-de-en not installed"
)
def test_ding_corpus_has_thousands_of_sentence_pairs():
    df = load_corpus("ding-en-de")
    assert len(df) > 15000
    assert df["src"].str[-1].isin(list(".?!")).all()
