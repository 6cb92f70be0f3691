import pytest
"""The `bayqa` console script, run as a real subprocess."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bayqa.chunking import Chunk
from bayqa.cli import passage_json, search_json
from bayqa.confidence import Confidence
from bayqa.highlight import Answer, Match
from bayqa.search import Answers, Hit
from tests.conftest import SHIPPED_CORPUS


def bayqa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bayqa.cli", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


@pytest.mark.integration  # runs the real model
def test_index_search_info_with_env_and_flags(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name in ("03_infrastructure_connectivity.md", "11_hetao_brief_zh.md"):
        shutil.copy(SHIPPED_CORPUS / name, corpus / name)
    (corpus / "broken.pdf").write_bytes(b"not a pdf")
    env = {"BAYQA_CORPUS": str(corpus), "BAYQA_INDEX": str(tmp_path / "idx")}

    built = bayqa("index", env=env)
    assert built.returncode == 0, built.stderr
    assert "2 added" in built.stdout and "skipped: broken.pdf" in built.stderr
    again = bayqa("index", env=env)
    assert "up to date" in again.stdout

    found = bayqa("search", "When did the Hong Kong-Zhuhai-Macao Bridge open?", "-k", "2", "--json", "--index", str(tmp_path / "idx"), env=env)
    assert found.returncode == 0, found.stderr
    printed = json.loads(found.stdout)
    assert list(printed) == ["query", "confidence", "results"] and printed["query"] == "When did the Hong Kong-Zhuhai-Macao Bridge open?"
    assert len(printed["results"]) == 2 and printed["results"][0]["doc_id"] == "03_infrastructure_connectivity.md"

    info = bayqa("info", "--json", env=env)
    assert json.loads(info.stdout)["documents"] == 2


def test_search_json_is_the_query_its_confidence_and_the_passages() -> None:
    chunk = Chunk("c1", "bridge.md", 0, "Bridge", ("Opening",), None, 10, 60, "The bridge opened on 24 October 2018. It is long.")
    hit = Hit(1, 0.93, chunk, Answer("The bridge opened on 24 October 2018.", 10, 47, 0.8), (Match("bridg", 14, 20),))
    answers = Answers("hybrid", [hit], Confidence(0.91, False, None, None))
    printed = json.loads(json.dumps(search_json("When did the bridge open?", answers)))
    assert printed == {
        "query": "When did the bridge open?",
        "confidence": {"score": 0.91, "low": False, "check": None, "missing": None},  # the fields of /search's confidence
        "results": [passage_json(hit)],
    }
    assert printed["results"][0]["answer"] == {"text": "The bridge opened on 24 October 2018.", "start": 10, "end": 47}
    flagged = search_json("How much is the toll?", Answers("hybrid", [], Confidence(0.4, True, 0.1, "amount")))
    assert flagged["confidence"] == {"score": 0.4, "low": True, "check": 0.1, "missing": "amount"} and flagged["results"] == []


@pytest.mark.integration  # runs the real model
def test_cli_errors_are_one_line_messages(tmp_path: Path) -> None:
    missing = bayqa("index", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i"))
    assert missing.returncode == 2 and "bayqa: error: corpus folder" in missing.stderr and "Traceback" not in missing.stderr
    no_index = bayqa("search", "bridge", "--index", str(tmp_path / "i"))
    assert no_index.returncode == 2 and "no index" in no_index.stderr
    bad_k = bayqa("search", "bridge", "-k", "0", "--index", str(tmp_path / "i"))
    assert bad_k.returncode == 2 and bad_k.stderr.strip() == "bayqa: error: -k must be between 1 and 100"
    too_long = bayqa("search", "bridge " * 200, "--index", str(tmp_path / "i"))
    assert too_long.returncode == 2 and "the limit is 1000 (BAYQA_MAX_QUESTION_CHARS)" in too_long.stderr
    assert "--corpus" not in bayqa("bench", "--help").stdout  # bench builds its own collections: only --model applies
