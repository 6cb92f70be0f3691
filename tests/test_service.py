"""Service.ask and Service.document: a question and a document id as a user sends them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.query import QuestionError, UnknownDocuments
from bayqa.service import NotReady, Service


def test_ask_checks_the_question_and_the_documents(shipped_service: Service) -> None:
    reply = shipped_service.ask("  When did the Hong Kong-Zhuhai-Macao Bridge open?  ", k=3)
    assert reply.question == "When did the Hong Kong-Zhuhai-Macao Bridge open?" and reply.k == 3
    assert reply.generation == shipped_service.searcher.index.generation and reply.seconds > 0
    assert reply.answers.hits == shipped_service.answer(reply.question, k=3).hits
    with pytest.raises(QuestionError, match="empty"):
        shipped_service.ask("   ")
    with pytest.raises(UnknownDocuments) as unknown:
        shipped_service.ask("talent", doc_ids=["z.md", "05_qianhai_cooperation_zone.md", "a.md"])
    assert unknown.value.ids == ["a.md", "z.md"]
    only = shipped_service.ask("talent", doc_ids=["05_qianhai_cooperation_zone.md"])
    assert {h.chunk.doc_id for h in only.answers.hits} == {"05_qianhai_cooperation_zone.md"}
    assert shipped_service.ask("talent", doc_ids=[]).answers.hits == shipped_service.ask("talent").answers.hits


def test_a_bad_question_is_refused_before_the_index_is_needed(tmp_path: Path, embedder: Embedder) -> None:
    service = Service(Settings(corpus=tmp_path / "c", index=tmp_path / "i"), embedder)
    with pytest.raises(QuestionError):
        service.ask("")
    with pytest.raises(NotReady):
        service.ask("bridge")


def test_document_has_its_text_and_passages(shipped_service: Service) -> None:
    found = shipped_service.document("11_hetao_brief_zh.md")
    assert found is not None and found.info.id == "11_hetao_brief_zh.md" and len(found.chunks) == found.info.chunks
    assert all(found.text[c.start:c.end] == c.text for c in found.chunks)
    assert shipped_service.document("no/such.md") is None
