"""Names across languages by their sound: a Chinese place or person name and the English spelling of it.

English writes Hong Kong's names as they sound in Cantonese, in the Hong Kong Government's spelling (洪水橋 Hung
Shui Kiu, 將軍澳 Tseung Kwan O, 李家超 Lee Ka-chiu), and the mainland's in pinyin, as one word (前海 Qianhai, 橫琴
Hengqin). The Chinese-English dictionary (bayqa.translate) knows few of them, and translates some as words
(洪水 "deluge"), so neither search can cross from one spelling to the other. This module spells Chinese by sound
and reads spellings back into characters; whether a spelling is a name the documents use is for the caller to
say (``known``, ``confirmed``): a Chinese question's window of two to four characters gives English search terms
when the documents hold its spelling as a phrase, and an English question's romanised name gives the character
pairs (search terms of Chinese text, bayqa.terms) that sound like it and that the documents hold.

Cantonese readings come from the ``cantonese-romanisation`` package's tables (its code is not used): each
character's Government spellings, and its Jyutping, spelt here by the Government's conventions as well (the
tables' own spellings miss some place-name forms: 門 "mun", 洲 "chau", 將 "tseung"). Mandarin readings come
from the single characters of CC-CEDICT, which bayqa.translate reads already.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable
from functools import cache
from typing import NamedTuple

from bayqa.terms import STOPWORDS, simplified, word_terms
from bayqa.translate import dictionary_entries, dictionary_words, package_folder

SHORTEST, LONGEST = 2, 4  # characters of a Chinese name tried by sound: shorter ones match by chance
LONGEST_NAME = 6  # syllables of an English name read back: a longer run of them is no name ("Hung Shui Kiu" x 70)
MOST_SPELLINGS = 32  # spellings of one window tried; beyond it the window's characters are too ambiguous
MOST_CHAINS = 4  # character pairs chains read back from one English name
# A text's first MOST_READ characters are searched for names, with at most MOST_ASKED spellings to confirm: a
# pasted paragraph would otherwise cost milliseconds a character.
MOST_READ = 200
MOST_ASKED = 64
# Characters read back from one syllable, the commonest first (those in the most dictionary words): a syllable has up
# to 346, mostly rare, and a name's characters are among the first 40 for the place names tried (docs/ranking.md).
MOST_CHARACTERS = 40
REMEMBERED = 65_536  # answers a searcher keeps for one generation: spelt syllable runs, names' character pairs
_HAN = re.compile(r"[\u3400-\u9fff]+")
_VOWEL = re.compile("[aeiou]")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]*(?:-[a-z]+)*\b")

# Jyutping written the Government's way: initials, then finals (several where usage varies: 將 zoeng "cheung" or
# "tseung", 澳 ou "o"). A g or k before u or o is often spelt with the w Cantonese has lost there (觀塘 Kwun Tong).
_INITIALS = {
    "b": ("p",), "p": ("p",), "m": ("m",), "f": ("f",), "d": ("t",), "t": ("t",), "n": ("n",), "l": ("l",),
    "g": ("k",), "k": ("k",), "ng": ("ng",), "h": ("h",), "gw": ("kw",), "kw": ("kw",), "w": ("w",),
    "z": ("ch", "ts"), "c": ("ch", "ts"), "s": ("s", "sh"), "j": ("y",), "": ("",),
}
_FINALS = {
    "aa": ("a",), "aai": ("ai",), "aau": ("au",), "aam": ("am",), "aan": ("an",), "aang": ("ang",), "aap": ("ap",),
    "aat": ("at",), "aak": ("ak",), "ai": ("ai", "ei"), "au": ("au",), "am": ("am", "um"), "an": ("an", "un"),
    "ang": ("ang",), "ap": ("ap",), "at": ("at",), "ak": ("ak",), "e": ("e",), "ei": ("ei", "i", "ee"),
    "eng": ("eng",), "ek": ("ek",), "i": ("i", "ee", "z", "ze"), "iu": ("iu",), "im": ("im",), "in": ("in",),
    "ing": ("ing",), "ip": ("ip",), "it": ("it",), "ik": ("ik",), "o": ("o", "oh"), "oi": ("oi",), "on": ("on",),
    "ong": ("ong",), "ot": ("ot",), "ok": ("ok",), "ou": ("o", "u"), "u": ("u", "oo"), "ui": ("ui", "ooi"),
    "un": ("un", "oon"), "ung": ("ung",), "ut": ("ut",), "uk": ("uk",), "oe": ("oe",), "oeng": ("eung",),
    "oek": ("euk",), "eoi": ("ui", "eui"), "eon": ("un", "eun"), "eot": ("ut",), "yu": ("u", "ue"),
    "yun": ("uen", "un"), "yut": ("uet", "ut"), "m": ("m",), "ng": ("ng",),
}
_JYUTPING = re.compile(rf"({'|'.join(sorted(filter(None, _INITIALS), key=len, reverse=True))})?({'|'.join(_FINALS)})\d?")


def cantonese(char: str) -> frozenset[str]:
    """The ways the Government's romanisation spells ``char`` (Simplified or Traditional), lower case."""
    return _tables().cantonese.get(char, frozenset())


def pinyin(char: str) -> frozenset[str]:
    """The Mandarin readings of ``char`` without tones, lower case (ü as u, as English names write it)."""
    return _tables().pinyin.get(char, frozenset())


Held = Callable[[Collection[str]], Collection[str]]  # which of these search terms the documents hold


class Spelt(NamedTuple):
    """A Chinese name (Simplified) and the English words that spell it ("qianhai"; "hung", "shui", "kiu")."""

    name: str
    words: tuple[str, ...]


def spelled_names(text: str, held: Held, confirmed: Callable[[tuple[str, ...]], bool]) -> tuple[Spelt, ...]:
    """English spellings of the Chinese names in ``text``: for each window of SHORTEST to LONGEST characters (longest
    first, none inside one found), its pinyin as one word, or its Cantonese syllables, when the documents hold their
    search terms (``held`` says which terms they hold) and ``confirmed`` finds them written as a name: capitalised,
    in a row ("anti" in "anti-epidemic" is no 案提)."""
    found: list[Spelt] = []
    asked = itertools.count()

    def named(words: tuple[str, ...]) -> bool:
        return next(asked) < MOST_ASKED and confirmed(words)

    for run in _HAN.findall(simplified(text[:MOST_READ])):
        known = dictionary_words(run)
        # A name is no common word the dictionary translates (北部 "northern part"), nor cuts a word (案提 of 方案提出).
        windows = [(at, at + n) for n in range(min(LONGEST, len(run)), SHORTEST - 1, -1) for at in range(len(run) - n + 1)
                   if not any(_cuts((at, at + n), (a, b)) or (a, b) == (at, at + n) and not name for a, b, name in known)]
        words = {window: _pinyin_words(run[window[0] : window[1]]) for window in windows}
        # One look-up of the documents' terms for the whole run: its windows' pinyin words, its characters' syllables.
        heard = held({term for spelt in words.values() for term in spelt})
        spoken = held({term_of(s) for c in set(run) for s in cantonese(c)})
        syllables = [sorted(s for s in cantonese(c) if term_of(s) in spoken) for c in run]
        taken = [False] * len(run)
        for start, end in windows:
            if any(taken[start:end]):
                continue
            spelling = [word for term, word in sorted(words[start, end].items()) if term in heard and named((word,))][:1]
            if not spelling and all(syllables[start:end]) and _count(syllables[start:end]) <= MOST_SPELLINGS:
                spelling = next((list(p) for p in itertools.product(*syllables[start:end]) if named(p)), [])
            if spelling:
                found.append(Spelt(run[start:end], tuple(spelling)))
                taken[start:end] = [True] * (end - start)
    return tuple(dict.fromkeys(found))


def written_pairs(question: str, held: Held, known: dict[tuple[tuple[str, ...], str], list[str]] | None = None) -> tuple[str, ...]:
    """The Chinese character pairs (Simplified) that the romanised names of an English ``question`` sound like, among
    those the documents hold (``held`` says which): Cantonese for a run of capitalised syllables ("Hung Shui Kiu"), pinyin
    for one word of two or more syllables ("Qianhai"). ``known`` keeps each name's pairs for the same documents:
    "Hong Kong" comes back in question after question."""
    found: list[str] = []
    for name in _romanised_names(question):
        pairs = known.get(name) if known is not None else None
        if pairs is None:
            pairs = _pairs(*name, held)
            if known is not None:
                if len(known) >= REMEMBERED:
                    known.clear()
                known[name] = pairs
        found.extend(pairs)
    return tuple(dict.fromkeys(found))


def _pinyin_words(window: str) -> dict[str, str]:
    """The pinyin of ``window`` as one word, each reading (at most MOST_SPELLINGS), by its search term."""
    readings = [pinyin(c) for c in window]
    if not all(readings) or _count(readings) > MOST_SPELLINGS:
        return {}
    words = ["".join(p) for p in itertools.product(*readings)]
    return dict(zip(word_terms(words), words))


def _romanised_names(question: str) -> Iterable[tuple[tuple[str, ...], str]]:
    """Each romanised name of an English question: its syllables, and "cantonese" or "pinyin" for how to read them."""
    words = [(m.start(), m.group()) for m in _CAPITALISED.finditer(question)]
    run: list[str] = []
    end = -1
    for start, word in [*words, (len(question) + 2, "")]:
        syllables = word.lower().split("-")
        adjacent = start <= end + 1 and question[end:start].strip() == ""
        if word and word.lower() not in STOPWORDS and all(cantonese_spelling(s) for s in syllables):
            run = [*run, *syllables] if adjacent else syllables
        else:
            if SHORTEST <= len(run) <= LONGEST_NAME:
                yield tuple(run), "cantonese"
            run = []
            split = _pinyin_syllables(word.lower()) if word else None
            if split and SHORTEST <= len(split) <= LONGEST_NAME:
                yield split, "pinyin"
        end = start + len(word)
    return


def term_of(word: str) -> str:
    """The search term of a spelling (bayqa.terms: lower case, stemmed)."""
    term = _tables().terms.get(word)
    return term if term is not None else word_terms([word.lower()])[0]


def cantonese_spelling(syllable: str) -> bool:
    """Whether ``syllable`` is a way the Government's romanisation spells some character."""
    return syllable in _tables().by_cantonese


def _pinyin_syllables(word: str) -> tuple[str, ...] | None:
    """``word`` cut into pinyin syllables (the longest first syllable that lets the rest be cut too), or None."""
    if not word:
        return ()
    by_pinyin = _tables().by_pinyin
    for length in range(min(6, len(word)), 0, -1):
        if word[:length] in by_pinyin:
            rest = _pinyin_syllables(word[length:])
            if rest is not None:
                return (word[:length], *rest)
    return None


def _pairs(syllables: tuple[str, ...], how: str, held: Held) -> list[str]:
    """The character pairs of the chains of characters that read as ``syllables`` and whose every pair the documents
    hold, at most MOST_CHAINS chains."""
    table = _tables().by_cantonese if how == "cantonese" else _tables().by_pinyin
    chains: list[str] = list(table.get(syllables[0], ()))
    for syllable in syllables[1:]:
        following = table.get(syllable, ())
        pairs = held({chain[-1] + c for chain in chains for c in following})
        chains = [chain + c for chain in chains for c in following if chain[-1] + c in pairs]
        if not chains or len(chains) > MOST_CHAINS * 8:
            return []
    if len(chains) > MOST_CHAINS:
        return []
    return [chain[i : i + 2] for chain in chains for i in range(len(chain) - 1)]


def _cuts(window: tuple[int, int], word: tuple[int, int]) -> bool:
    """Whether ``window`` holds part of ``word`` but not all of it."""
    return window[0] < word[1] and word[0] < window[1] and not window[0] <= word[0] < word[1] <= window[1]


def _count(choices: list) -> int:
    count = 1
    for choice in choices:
        count *= len(choice)
    return count


class _Tables:
    def __init__(self, cantonese: dict[str, frozenset[str]], pinyin: dict[str, frozenset[str]], use: dict[str, int]) -> None:
        self.cantonese = cantonese
        self.pinyin = pinyin
        self.by_cantonese = _reverse(cantonese, use)
        self.by_pinyin = _reverse(pinyin, use)
        spellings = sorted(self.by_cantonese)
        self.terms = dict(zip(spellings, word_terms(spellings)))  # each Cantonese spelling's search term


@cache
def _tables() -> _Tables:
    pinyin, use = _pinyin_table()
    return _Tables(_cantonese_table(), pinyin, use)


def _reverse(table: dict[str, frozenset[str]], use: dict[str, int]) -> dict[str, tuple[str, ...]]:
    """Spelling -> the MOST_CHARACTERS commonest characters spelt so (``use`` counts them), in Simplified script like
    the search terms."""
    reverse: dict[str, set[str]] = {}
    for char, spellings in table.items():
        if char == simplified(char):
            for spelling in spellings:
                reverse.setdefault(spelling, set()).add(char)
    return {spelling: tuple(sorted(chars, key=lambda c: (-use.get(c, 0), c))[:MOST_CHARACTERS]) for spelling, chars in reverse.items()}


def _cantonese_table() -> dict[str, frozenset[str]]:
    folder = package_folder("cantoroman")
    if folder is None:
        return {}
    spelt = json.loads((folder / "data" / "charToRoman.json").read_text(encoding="utf-8"))
    jyutping = json.loads((folder / "data" / "charToLshk.json").read_text(encoding="utf-8"))
    table: dict[str, set[str]] = {}
    for char in spelt.keys() | jyutping.keys():
        ways = {s.lower() for s in spelt.get(char) or () if s.isalpha()}
        ways.update(w for reading in jyutping.get(char) or () for w in _government(reading))
        if ways:
            for key in {char, simplified(char)}:
                table.setdefault(key, set()).update(ways)
    return {char: frozenset(ways) for char, ways in table.items()}


def _government(jyutping: str) -> tuple[str, ...]:
    """A Jyutping syllable ("zoeng1") in the Government's spellings ("cheung", "tseung")."""
    match = _JYUTPING.fullmatch(jyutping.lower())
    if match is None:
        return ()
    initial, final = match.group(1) or "", match.group(2)
    heads = _INITIALS[initial] + (("kw",) if initial in ("g", "k") and final[0] in "uo" else ())
    return tuple(h + f for h in heads for f in _FINALS[final])


def _pinyin_table() -> tuple[dict[str, frozenset[str]], dict[str, int]]:
    """Each character's pinyin from CC-CEDICT's single-character entries, and how many of its words use each."""
    table: dict[str, set[str]] = {}
    use: dict[str, int] = {}
    for word, pinyin, _ in dictionary_entries():
        for char in set(word):
            use[char] = use.get(char, 0) + 1
        if len(word) == 1:
            reading = re.sub(r"\d", "", pinyin.lower()).replace("u:", "u")
            if reading.isalpha() and _VOWEL.search(reading):  # not a letter's name ("w") or an interjection ("hm")
                table.setdefault(word, set()).add(reading)
    return {char: frozenset(readings) for char, readings in table.items()}, use
