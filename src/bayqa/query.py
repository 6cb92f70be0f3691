"""Checking a question at the boundary, the same way for the CLI and HTTP."""

from __future__ import annotations

from collections.abc import Container, Iterable


class QuestionError(ValueError):
    """The question cannot be searched as given; the message says what to change."""


class UnknownDocuments(ValueError):
    """A search was limited to documents the index does not hold; ``ids`` are those, sorted."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"unknown document(s) {', '.join(ids)}")
        self.ids = ids


def check_question(text: str, max_chars: int) -> str:
    """The question stripped of surrounding space; QuestionError if it is empty, too long or not valid text."""
    question = text.strip()
    if not question:
        raise QuestionError("the question is empty; type a question")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars} (BAYQA_MAX_QUESTION_CHARS)")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from JSON "\ud800": no tokenizer can read it
        raise QuestionError(f"the question holds an invalid character at position {exc.start} (an unpaired UTF-16 "
                            "surrogate); send it as valid Unicode text") from None
    return question


def check_documents(doc_ids: Iterable[str] | None, indexed: Container[str]) -> frozenset[str] | None:
    """The documents to limit a search to, None (every document) for none or an empty list; UnknownDocuments if
    ``indexed`` lacks any of them."""
    wanted = frozenset(doc_ids) if doc_ids else None
    if wanted:
        unknown = sorted(d for d in wanted if d not in indexed)
        if unknown:
            raise UnknownDocuments(unknown)
    return wanted
