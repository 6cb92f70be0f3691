"""A question checked at the boundary, the same way for the CLI and HTTP, and analysed once for its search.

Every part of a search reads the same ``Query``: keyword search its terms, fusion and the verifier its language,
answer highlighting and the answer-type check its answer kind, dense search its vector.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from bayqa.asking import Part, asks_why, counted, expected_answer, named_years, question_parts, written_chinese
from bayqa.measures import asked_measure
from bayqa.names import question_names
from bayqa.terms import half_width, is_mostly_chinese, terms
from bayqa.translate import english_terms


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

@dataclass(frozen=True)
class Query:
    """A question and what a search needs to know of it.

    ``terms`` are its search terms as BM25 counts them (bayqa.terms, repeats kept); ``chinese`` says whether it is
    mostly Chinese; ``answer_kind`` is what an answer must state ("date", "amount" of money, "figure" or None, see
    bayqa.asking.expected_answer); ``parts`` are the questions it holds when it asks several at once, else empty
    (bayqa.asking.question_parts); ``years`` are the years it names (bayqa.asking.named_years); ``vector`` is its embedding, set by the searcher that first needs it.
    """

    text: str
    terms: tuple[str, ...]
    chinese: bool
    answer_kind: str | None
    parts: tuple[Part, ...] = ()
    years: frozenset[str] = frozenset()
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: Search terms in the other language: a Chinese question's English from the dictionary (bayqa.translate), and
    #: what the searcher adds (bayqa.crossing.Crossing.with_other_language_terms: names by their sound, an English
    #: question's Chinese words). BM25 counts them, and they choose the answer sentence in a passage in the other
    #: language.
    translated: tuple[str, ...] = ()
    #: The places and bodies it names (bayqa.names): best passages that mention none of most of them flag it "not found".
    names: tuple[str, ...] = ()
    #: What a "how many" question counts (bayqa.asking.counted): a figure of it answers best.
    counted: str | None = None
    #: Whether it asks for a reason (bayqa.asking.asks_why): the answer takes in the sentence that gives one.
    why: bool = False
    #: The measure it asks a figure in (bayqa.measures.asked_measure: a span, an area, a share, a multiple, an age): a
    #: figure in it answers best.
    measure: str | None = None
    #: The question as it is analysed and embedded when that differs from ``text``: spoken Cantonese put in written
    #: Chinese (bayqa.asking.written_chinese), full-width letters and digits in ASCII (bayqa.terms.half_width).
    reading: str | None = None

    @classmethod
    def of(cls, text: str) -> Query:
        """``text`` analysed as it is, unchecked: for library callers that hold their own questions."""
        chinese = is_mostly_chinese(text)
        read = half_width(written_chinese(text) if chinese else text)
        pieces = question_parts(read)
        parts = tuple(Part.of(piece) for piece in pieces) if len(pieces) > 1 else ()
        translated = english_terms(read) if chinese else ()
        return cls(
            text, tuple(terms(read)), chinese, expected_answer(read), parts, named_years(read), translated=translated,
            names=question_names(read, chinese), counted=counted(read), why=asks_why(read), measure=asked_measure(read),
            reading=read if read != text else None,
        )

    @classmethod
    def parse(cls, text: str, max_chars: int) -> Query:
        """A question from a user: checked (QuestionError says what is wrong), stripped and analysed."""
        return cls.of(check_question(text, max_chars))

    @property
    def wants(self) -> str | None:
        """The kind of figure the answering sentence should hold, as bayqa.asking.asks_for says: "date", "figure"
        (an amount of money is one) or None."""
        return "figure" if self.answer_kind == "amount" else self.answer_kind

    @property
    def read(self) -> str:
        """The text the models embed."""
        return self.text if self.reading is None else self.reading

    def with_vector(self, vector: np.ndarray) -> Query:
        return replace(self, vector=vector)
