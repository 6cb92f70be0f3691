from bayqa.chunking import ChunkSettings, chunk_document
from bayqa.documents import parse_document
from bayqa.embedding import Embedder


def test_chunks_fit_the_token_budget_and_point_into_the_text(embedder: Embedder) -> None:
    para = " ".join(f"Sentence {i} explains how the Northern Metropolis links with Shenzhen's economy." for i in range(60))
    md = f"# Long plan\n\n## Section A\n\n{para}\n\n## Section B\n\nShort closing words."
    doc = parse_document(md.encode(), "markdown", "long.md", "long")
    settings = ChunkSettings(chunk_tokens=100, overlap_tokens=16, window_tokens=embedder.max_tokens)
    chunks = chunk_document(doc, embedder.count_tokens, settings)
    assert len(chunks) > 5
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.text) <= 100
        assert embedder.count_tokens(chunk.embedding_text) <= embedder.max_tokens - 2
    assert {c.headings for c in chunks} == {("Long plan", "Section A"), ("Long plan", "Section B")}
    a_chunks = [c for c in chunks if c.headings[-1] == "Section A"]
    assert all(a.end > b.start for a, b in zip(a_chunks, a_chunks[1:])), "neighbours overlap"
    assert all(c.text.endswith(".") for c in a_chunks), "cuts fall at sentence ends"


def test_title_and_headings_are_embedded_not_shown(embedder: Embedder) -> None:
    doc = parse_document(b"# Qianhai\n\n## Tax\n\nThe rate is 15 per cent.", "markdown", "q.md", "q")
    [chunk] = chunk_document(doc, embedder.count_tokens, ChunkSettings())
    assert chunk.text == "The rate is 15 per cent."
    assert chunk.embedding_text.startswith("Qianhai > Tax\n")


def test_chinese_splits_at_sentence_ends(embedder: Embedder) -> None:
    sentences = [f"河套合作区第{i}项措施支持深港两地科研人员往来和数据跨境流动。" for i in range(40)]
    doc = parse_document("".join(sentences).encode(), "text", "zh.txt", "zh")
    chunks = chunk_document(doc, embedder.count_tokens, ChunkSettings(chunk_tokens=120, overlap_tokens=0))
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.text.endswith("。")
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.text) <= 120


def test_chunk_ids_are_stable(embedder: Embedder) -> None:
    doc = parse_document(b"One.\n\nTwo.", "text", "a.txt", "a")
    first = [c.id for c in chunk_document(doc, embedder.count_tokens, ChunkSettings())]
    again = [c.id for c in chunk_document(doc, embedder.count_tokens, ChunkSettings())]
    assert first == again and len(set(first)) == len(first)
