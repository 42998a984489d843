"""Pretraining text and QA sources for the causal-LM track, read from Debian's WordNet and
SWORD packages, and user QA files."""

import pandas as pd
import pytest

from rotelab.data.corpora import CorpusError
from rotelab.data.lm_text import load_qa, load_text, qa_sources, qa_text, wordnet_glosses


@pytest.fixture(scope="module")
def sources():
    return {name: load_qa(name) for name in qa_sources.names()}


def test_three_qa_sources_of_unequal_size_and_distinct_topics(sources):
    sizes = {name: len(table) for name, table in sources.items()}
    assert set(sizes) == {"wordnet-medical", "wordnet-artifacts", "wordnet-living"}
    assert 1000 < sizes["wordnet-medical"] < sizes["wordnet-artifacts"] < sizes["wordnet-living"]
    ids = [set(t["id"]) for t in sources.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    medical = sources["wordnet-medical"].set_index("question")["answer"]
    assert medical["What is a neuralgia?"].startswith("Acute spasmodic pain")
    assert all(t["question"].str.startswith("What is ").all() for t in sources.values())
    assert qa_text("What is a cat?", "A feline.") == "Question: What is a cat? The answer is: A feline."


def test_pretraining_text_leaves_out_every_qa_answer(sources):
    glosses = wordnet_glosses()["text"]
    answers = set().union(*(set(t["answer"]) for t in sources.values()))
    assert not any(g.split(": ", 1)[1] in answers for g in glosses)
    text = load_text(["web-bible", "wordnet-glosses"])
    assert text["text"].is_unique and len(text) > 100_000


def test_user_qa_files_and_their_errors(tmp_path):
    good = tmp_path / "qa.tsv"
    good.write_text("question\tanswer\nWhat is rotelab?\tA workflow.\n")
    table = load_qa(f"tsv:{good}")
    assert table.iloc[0].to_dict() == {"id": "qa-0", "question": "What is rotelab?", "answer": "A workflow."}
    bad = tmp_path / "bad.jsonl"
    pd.DataFrame({"question": ["What?", "Why?"], "answer": ["Yes.", " "]}).to_json(bad, orient="records", lines=True)
    with pytest.raises(CorpusError, match=r"bad\.jsonl, line 2: column 'answer' is empty"):
        load_qa(f"jsonl:{bad}")
    with pytest.raises(CorpusError, match="missing column"):
        pd.DataFrame({"q": ["x"]}).to_parquet(tmp_path / "q.parquet")
        load_qa(f"parquet:{tmp_path / 'q.parquet'}")
    with pytest.raises(KeyError):
        load_qa("wordnet-klingon")


def test_qa_clients_keep_unequal_sizes_and_a_disjoint_test_split():
    from rotelab.data.lm_text import prepare_qa

    qa = prepare_qa(["wordnet-medical", "wordnet-artifacts", "wordnet-living"], fraction=0.1, n_test=50, seed=5)
    assert (qa[qa.split == "test"].groupby("client").size() == 50).all()
    train = qa[qa.split == "train"].groupby("client").size()
    assert train[0] < train[1] < train[2]
    assert train[0] == round(0.1 * (1800 - 50))
    assert not set(qa[qa.split == "test"]["id"]) & set(qa[qa.split == "train"]["id"])
    assert qa.equals(prepare_qa(["wordnet-medical", "wordnet-artifacts", "wordnet-living"], 0.1, 50, 5))
    with pytest.raises(CorpusError, match="none left after 5000 test pairs"):
        prepare_qa(["wordnet-medical"], 0.1, 5000, 5)


def test_client_documents_repeat_each_canary_on_its_own_client():
    from rotelab.data.lm_text import client_documents

    qa = pd.DataFrame(
        {
            "client": [0, 0, 1, 1],
            "split": ["train", "test", "train", "train"],
            "question": list("abcd"),
            "answer": list("ABCD"),
        }
    )
    canaries = pd.DataFrame({"text": ["note x", "note y", "note z"], "duplication": [1, 3, 0], "client": [1, 0, -1]})
    docs = client_documents(qa, canaries, seed=0)
    assert sorted(docs[0]) == sorted([qa_text("a", "A")] + ["note y"] * 3)
    assert sorted(docs[1]) == sorted([qa_text("c", "C"), qa_text("d", "D"), "note x"])
    assert "note z" not in docs[0] + docs[1]


def test_hugging_face_dataset_ids_read_the_train_files_of_the_cached_snapshot(tmp_path, monkeypatch):
    import huggingface_hub

    from rotelab.data.lm_text import load_text

    snapshot = tmp_path / "someone" / "qa" / "data"
    snapshot.mkdir(parents=True)
    text_snapshot = tmp_path / "someone" / "text"
    text_snapshot.mkdir(parents=True)
    pd.DataFrame({"question": ["What is a lute?"], "answer": ["A stringed instrument."]}).to_parquet(
        snapshot / "train-00000-of-00001.parquet"
    )
    pd.DataFrame({"question": ["What is a fern?"], "answer": ["A plant."]}).to_parquet(snapshot / "test-00000.parquet")
    pd.DataFrame({"text": ["Some text.", "Some text.", "More."]}).to_json(
        text_snapshot / "train.jsonl", orient="records", lines=True
    )
    calls = []

    def fake_snapshot(repo_id, repo_type, allow_patterns):
        calls.append((repo_id, repo_type))
        if repo_id == "nobody/missing":
            raise huggingface_hub.errors.LocalEntryNotFoundError("offline and not cached")
        return str(tmp_path / repo_id)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    qa = load_qa("hf:someone/qa")
    assert qa[["question", "answer"]].values.tolist() == [["What is a lute?", "A stringed instrument."]]
    assert calls == [("someone/qa", "dataset")]
    assert load_text(["hf:someone/text"])["text"].tolist() == ["Some text.", "More."]
    with pytest.raises(CorpusError, match="Hugging Face dataset 'nobody/missing' is not available"):
        load_qa("hf:nobody/missing")
