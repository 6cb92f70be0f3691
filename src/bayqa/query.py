"""Checking a question at the boundary, the same way for the CLI and HTTP."""

from __future__ import annotations


class QuestionError(ValueError):
    """The question cannot be searched as given; the message says what to change."""


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
