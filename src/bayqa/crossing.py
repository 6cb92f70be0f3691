"""A question read across the two languages against one index: the other language's spellings of the names it
holds that the documents use (bayqa.sounds), the Chinese words a dictionary gives an English question that some
passage holds (bayqa.translate), and the terms that read a passage in the other language.

Remembered per index generation, since the common words of questions bring the same syllables again and again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import replace

from bayqa.query import Query
from bayqa.sounds import REMEMBERED, Spelt, spelled_names, term_of, written_pairs
from bayqa.store import LoadedIndex
from bayqa.translate import chinese_terms, english_text
from bayqa.translate import load as load_dictionary

# Passages read to see whether a Chinese name's Cantonese syllables are written in a row (bayqa.sounds): the first few
# that hold them all settle it.
NAME_ROWS_READ = 8
_LATIN = re.compile(r"[A-Za-z0-9][\w.%-]*", re.ASCII)


def other_language_terms(query: Query, idf: dict[str, float], translated: dict[str, float]) -> dict[str, float]:
    """The terms, with their IDF, that read a passage in the other language than ``query``'s: a Chinese question's
    English (``translated``) and its figures and Latin-script words ("391", "GreenTech"), which read alike in English
    (its years are left to the year check); an English question's own (``idf``) and the Chinese its names and words
    give."""
    if not query.chinese:
        return {**idf, **translated}
    if not translated:
        return idf
    return {**translated, **{t: v for t, v in idf.items() if t.isascii() and t not in query.years}}


def gloss_of(query: Query) -> str:
    """A Chinese question in English for the English model: the first senses of its words (bayqa.translate), with its
    figures and Latin-script words, which the senses leave out ("2000年" gives 2000)."""
    return " ".join([english_text(query.read), *_LATIN.findall(query.read)])


def _spelling_terms(spelt: Iterable[Spelt]) -> tuple[str, ...]:
    """The search terms of names' spellings in the other language (bayqa.sounds), once each."""
    return tuple(dict.fromkeys(term_of(w) for s in spelt for w in s.words))


class Crossing:
    """The other language's terms of questions asked of ``index``."""

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        self._spelt: dict[tuple[str, ...], bool] = {}  # syllable runs: whether the passages write them as a name
        self._pairs: dict[tuple[tuple[str, ...], str], list[str]] = {}  # romanised names: their character pairs held
        # An English question gets Chinese terms only where some passage is Chinese (an index written before passages
        # were marked may hold some).
        self.holds_chinese = index.chinese is None or bool(index.chinese.any())
        if self.holds_chinese:  # every question will read the dictionary: read it while the first one is awaited
            threading.Thread(target=load_dictionary, name="bayqa-dictionary", daemon=True).start()

    def with_other_language_terms(self, query: Query) -> Query:
        """``query`` with the other language's spellings of the names it holds that the documents use (bayqa.sounds)
        among its ``translated`` terms, and for an English question the Chinese words a dictionary gives it
        (bayqa.translate.chinese_terms); a Chinese question's names spelt so are among its ``names`` too."""
        if query.chinese:
            spelt = spelled_names(query.read, self.index.keyword.held, self.in_a_row)
            found = _spelling_terms(spelt)
            names = tuple(s.name for s in spelt if s.name not in query.names)
        else:
            found, names = self.sounded(query.read, False), ()
            if self.holds_chinese:  # the words a dictionary gives in Chinese, those some passage holds
                found = (*found, *(t for t in chinese_terms(query.terms) if self.held(t)))
        fresh = tuple(dict.fromkeys(t for t in found if t not in query.translated))
        if not fresh and not names:
            return query
        return replace(query, translated=(*query.translated, *fresh), names=(*query.names, *names))

    def sounded(self, text: str, chinese: bool) -> tuple[str, ...]:
        """The search terms of the other language's spellings of the names in ``text`` that the documents use: a
        Chinese text's Cantonese or pinyin spellings, an English text's characters."""
        held = self.index.keyword.held
        if chinese:
            return _spelling_terms(spelled_names(text, held, self.in_a_row))
        return written_pairs(text, held, self._pairs)

    def held(self, term: str) -> bool:
        """Whether some passage (not retired) holds ``term``."""
        return self.index.keyword.document_frequency(term) > 0

    def in_a_row(self, words: tuple[str, ...]) -> bool:
        """Whether a passage holding every one of ``words`` writes them as a name: in a row, the first capitalised ("Hung
        Shui Kiu", "Ka-chiu", "Qianhai").
        Remembered for this generation: the common words of questions bring the same syllables again and again."""
        known = self._spelt.get(words)
        if known is None:
            if len(self._spelt) >= REMEMBERED:
                self._spelt.clear()
            known = self._spelt[words] = self._written_in_a_row(words)
        return known

    def _written_in_a_row(self, words: tuple[str, ...]) -> bool:
        rows = self.index.keyword.rows_with(term_of(w) for w in words)
        if not len(rows):
            return False
        rest = "".join(rf"[ \u00a0-]{w}" for w in words[1:])  # one space or hyphen: not a line break ("Kong\no By …")
        name = re.compile(rf"\b{words[0].capitalize()}(?i:{rest})\b")
        return any(name.search(chunk.text) for chunk in self.index.chunks.many(rows[:NAME_ROWS_READ].tolist()))
