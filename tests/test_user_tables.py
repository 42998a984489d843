"""User tables, every format against every failure kind: the error names the file and its
1-based line (TSV, JSONL) or row (Parquet); what is valid is read as written."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rotelab.data.user_tables import MAX_CHARS, CorpusError, read_user_table

QA = ["question", "answer"]


def tsv(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def jsonl(path, records, raw: bytes = b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + raw)
    return path


def parquet(path, columns: dict, types: dict | None = None):
    arrays = {k: pa.array(v, type=(types or {}).get(k)) for k, v in columns.items()}
    pq.write_table(pa.table(arrays), path)
    return path


GOOD = [{"question": "What is Na?", "answer": "NA"}, {"question": "Which null?", "answer": "None"}]


@pytest.mark.parametrize(
    "make",
    [
        lambda d: tsv(d / "t.tsv", "answer\tquestion\nNA\tWhat is Na?\nNone\tWhich null?\n"),
        lambda d: tsv(d / "t.tsv", "\ufeffquestion\tanswer\nWhat is Na?\tNA\n\nWhich null?\tNone\n"),
        lambda d: tsv(d / "t.tsv", "id\tquestion\tanswer\r\n1\tWhat is Na?\tNA\r\n2\tWhich null?\tNone\r\n"),
        lambda d: jsonl(d / "t.jsonl", GOOD),
        lambda d: tsv(d / "t.jsonl", "\ufeff" + "".join(json.dumps(r) + "\n" for r in GOOD)),
        lambda d: parquet(d / "t.parquet", {"answer": ["NA", "None"], "question": ["What is Na?", "Which null?"]}),
    ],
    ids=[
        "tsv header in any order",
        "tsv bom and blank line",
        "tsv extra column crlf",
        "jsonl",
        "jsonl bom",
        "parquet",
    ],
)
def test_valid_tables_read_as_written(tmp_path, make):
    path = make(tmp_path)
    table = read_user_table(path, path.suffix[1:], QA)
    assert table.to_dict("records") == GOOD  # "NA" (sodium) and "None" stay text


def test_a_corpus_tsv_header_is_optional_and_recognised_in_either_order(tmp_path):
    plain = tsv(tmp_path / "a.tsv", "Hello.\tHallo.\n")
    swapped = tsv(tmp_path / "b.tsv", "tgt\tsrc\nHallo.\tHello.\n")
    for path in (plain, swapped):
        table = read_user_table(path, "tsv", ["src", "tgt"], header_optional=True)
        assert table.to_dict("records") == [{"src": "Hello.", "tgt": "Hallo."}]


LONG = "x" * (MAX_CHARS + 1)


@pytest.mark.parametrize(
    "make, message",
    [
        # TSV
        (lambda d: tsv(d / "t.tsv", b"question\tanswer\nok?\tfine\nbad?\tna\xefve\n"), r"t\.tsv, line 3: not UTF-8"),
        (
            lambda d: tsv(d / "t.tsv", "question\tanswer\nok?\tfi\0ne\n"),
            r"t\.tsv, line 2: column 'answer' holds a NUL",
        ),
        (
            lambda d: tsv(d / "t.tsv", f"question\tanswer\nok?\t{LONG}\n"),
            r"t\.tsv, line 2: column 'answer' holds 100,001",
        ),
        (lambda d: tsv(d / "t.tsv", "question\tanswer\n\nok?\t  \n"), r"t\.tsv, line 3: column 'answer' is empty"),
        (
            lambda d: tsv(d / "t.tsv", "question\tanswer\nok?\ta\tb\n"),
            r"t\.tsv, line 2: 3 tab-separated fields, expected 2",
        ),
        (lambda d: tsv(d / "t.tsv", "q\tanswer\nok?\tfine\n"), r"t\.tsv, line 1: missing column\(s\) question"),
        # JSONL
        (
            lambda d: jsonl(d / "t.jsonl", GOOD, b'{"question": "x?", "answer": "caf\xe9"}\n'),
            r"t\.jsonl, line 3: not UTF-8",
        ),
        (lambda d: jsonl(d / "t.jsonl", [{"question": "x?", "answer": "a\0b"}]), r"t\.jsonl, line 1: .*NUL"),
        (lambda d: jsonl(d / "t.jsonl", [*GOOD, {"question": "x?", "answer": LONG}]), r"t\.jsonl, line 3: .*100,001"),
        (lambda d: jsonl(d / "t.jsonl", [{"question": "x?", "answer": None}]), r"t\.jsonl, line 1: .*got None"),
        (
            lambda d: jsonl(d / "t.jsonl", [{"question": "x?", "answer": 11}]),
            r"t\.jsonl, line 1: .*must be text, got 11",
        ),
        (lambda d: jsonl(d / "t.jsonl", [{"question": "x?"}]), r"t\.jsonl, line 1: missing key\(s\) answer"),
        (lambda d: jsonl(d / "t.jsonl", GOOD, b"{oops}\n"), r"t\.jsonl, line 3: invalid JSON"),
        (lambda d: jsonl(d / "t.jsonl", [["x?", "y"]]), r"t\.jsonl, line 1: expected a JSON object"),
        # Parquet
        (
            lambda d: parquet(d / "t.parquet", {"question": ["x?"], "answer": [b"na\xefve"]}, {"answer": pa.binary()}),
            r"t\.parquet, row 1: column 'answer' must be text",
        ),
        (lambda d: parquet(d / "t.parquet", {"question": ["x?", "y?"], "answer": ["a", "\0"]}), r"row 2: .*NUL"),
        (lambda d: parquet(d / "t.parquet", {"question": ["x?"], "answer": [LONG]}), r"t\.parquet, row 1: .*100,001"),
        (lambda d: parquet(d / "t.parquet", {"question": ["x?", "y?"], "answer": ["a", None]}), r"row 2: .*got None"),
        (lambda d: parquet(d / "t.parquet", {"question": ["x?"], "answer": [3]}), r"row 1: .*must be text, got 3"),
        (lambda d: parquet(d / "t.parquet", {"question": ["x?"]}), r"t\.parquet: missing column\(s\) answer"),
        (lambda d: tsv(d / "t.parquet", "question\tanswer\n"), r"t\.parquet: not a readable Parquet file"),
        # any format
        (lambda d: d / "absent.tsv", r"absent\.tsv does not exist"),
    ],
)
def test_each_failure_names_the_file_and_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CorpusError, match=message):
        read_user_table(path, path.suffix[1:], QA)


def test_qa_sources_read_na_and_none_as_answers(tmp_path):
    from rotelab.data.lm_text import load_qa

    path = tsv(tmp_path / "qa.tsv", "question\tanswer\nWhat is Na?\tNA\nWhich null?\tNone\n")
    assert list(load_qa(f"tsv:{path}")["answer"]) == ["NA", "None"]
    assert pd.api.types.is_object_dtype(load_qa(f"tsv:{path}")["answer"])
