"""A user's own data files are inputs of the rules that read them: editing one reruns what
was prepared from it, and nothing else (issue: an edited TSV used to leave "Nothing to be
done" and the old corpus in place)."""

import json

import pytest
from workflow_cli import planned_jobs, snakemake

pytestmark = pytest.mark.e2e

TARGETS = ("results/tokenizers/joint", "results/tokenizers/lm", "results/lm/canaries.parquet")
WORDS = "river house garden stone light window bread winter letter market forest music".split()


def sentence(i: int, words: int = 6) -> str:
    return " ".join(WORDS[(i * 7 + k * 5) % len(WORDS)] for k in range(words)) + f" {i} ."


def test_editing_a_user_file_reruns_what_was_prepared_from_it(tmp_path):
    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("src\ttgt\n" + "".join(f"{sentence(i)}\t{sentence(i + 1, 5)}\n" for i in range(700)))
    text = tmp_path / "text.jsonl"
    text.write_text("".join(json.dumps({"text": sentence(i, 12)}) + "\n" for i in range(500)))
    qa = tmp_path / "qa.tsv"
    qa.write_text("question\tanswer\n" + "".join(f"what is {sentence(i, 3)}?\t{sentence(i, 4)}\n" for i in range(60)))
    overlay = tmp_path / "user_files.yaml"
    overlay.write_text(
        f"data:\n  corpus: tsv:{corpus}\n"
        f"lm:\n  pretrain_corpora: ['jsonl:{text}']\n  qa:\n    sources: [wordnet-medical, 'tsv:{qa}']\n"
    )
    snakemake(tmp_path, "--cores", "2", *TARGETS, overlays=[overlay])
    assert planned_jobs(tmp_path, [overlay], TARGETS) == {}

    corpus.write_text("".join(corpus.read_text().splitlines(keepends=True)[:-50]))  # 50 rows fewer
    assert planned_jobs(tmp_path, [overlay], TARGETS) == {"prepare_corpus": 1, "train_tokenizer": 1}

    qa.write_text(qa.read_text().replace("\tgarden", "\tGarden", 1))  # one answer edited
    text.write_text(text.read_text() + json.dumps({"text": "one more document for the base."}) + "\n")
    assert planned_jobs(tmp_path, [overlay], TARGETS) == {
        "prepare_corpus": 1,
        "train_tokenizer": 1,
        "prepare_qa": 1,
        "make_lm_canaries": 1,
        "prepare_lm_text": 1,
        "train_lm_tokenizer": 1,
    }


def test_hub_datasets_are_not_downloaded_unless_allowed(tmp_path):
    """runtime.allow_downloads is false by default: a job asked for a Hub dataset reads only
    the local cache, and fails saying so, rather than downloading."""
    overlay = tmp_path / "hub.yaml"
    overlay.write_text("lm:\n  pretrain_corpora: ['hf:rotelab-tests/not-cached']\n")
    target = "results/data/lm_pretrain_train.parquet"
    proc = snakemake(tmp_path, "--cores", "1", target, overlays=[overlay], check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/prepare_lm_text.log").read_text()
    assert "Hugging Face dataset 'rotelab-tests/not-cached' is not available" in log
    assert "offline" in log.lower()
