"""Compare PDF text extractors on real and generated PDFs: broken words, text repeated from the previous page,
reading order and seconds per page. Prints a Markdown table and writes the figures as JSON.

    PYTHONPATH=src python scripts/pdf_extractors.py [PDF ...] [--json FILE]

Run from the repository root (the generated PDFs come from tests/helpers.py). Each extractor is optional: one that
is not installed is left out of the table.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import make_layout_pdf  # noqa: E402

Extractor = Callable[[bytes], list[str]]


def with_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def with_pypdfium2(data: bytes) -> list[str]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(pdf))]
    finally:
        pdf.close()


def with_pdfminer(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    return ["".join(el.get_text() for el in page if isinstance(el, LTTextContainer)) for page in extract_pages(io.BytesIO(data))]


def with_pdfplumber(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


EXTRACTORS: dict[str, Extractor] = {"pypdf": with_pypdf, "pypdfium2": with_pypdfium2, "pdfminer.six": with_pdfminer,
                                    "pdfplumber": with_pdfplumber}
_EDGE_PUNCT = "\"'“”‘’()[]{}.,;:!?*"


def words(text: str) -> list[str]:
    """Whitespace-separated tokens with the punctuation at their edges taken off, lowercased."""
    return [t.strip(_EDGE_PUNCT).lower() for t in text.split()]


def vocabulary(texts: list[str]) -> set[str]:
    """Words that at least two extractors found in the document: a fragment of one extractor is not among them."""
    seen = Counter(w for text in texts for w in set(words(text)) if w.isalpha())
    return {w for w, n in seen.items() if n >= 2}


def broken_words(text: str, vocab: set[str]) -> list[str]:
    """Neighbours that are a word of the document when joined, while one of them is not a word by itself."""
    found = []
    for line in text.splitlines():
        tokens = words(line)
        for a, b in zip(tokens, tokens[1:]):
            if a.isalpha() and b.isalpha() and a + b in vocab and (a not in vocab or b not in vocab):
                found.append(f"{a} {b}")
    return found


def repeated_lines(pages: list[str]) -> int:
    """Lines of 30 characters or more that the page before already had (a page that repeats its predecessor)."""
    count = 0
    for before, page in zip(pages, pages[1:]):
        previous = {" ".join(ln.split()) for ln in before.splitlines()}
        count += sum(1 for ln in page.splitlines() if len(ln.strip()) >= 30 and " ".join(ln.split()) in previous)
    return count


def order_score(pages: list[str], expected: list[str]) -> float:
    """Share of consecutive expected sentences that come out in that order (1.0: the order a reader reads)."""
    text = " ".join(" ".join(p.split()) for p in pages)
    places = [text.find(s) for s in expected]
    pairs = list(zip(places, places[1:]))
    return sum(1 for a, b in pairs if 0 <= a < b) / len(pairs)


SENTENCES = [f"Sentence number {n} talks about the Greater Bay Area plan." for n in range(1, 13)]


def generated() -> tuple[bytes, list[str]]:
    """Four pages: two columns (drawn column by column); a page whose stream draws its bottom line first; words
    drawn in kerned fragments of one TJ, as word processors write them; a page that repeats the one before."""
    s = SENTENCES
    columns = [(40, 760 - 14 * i, 8, False, s[i]) for i in range(3)] + [(330, 760 - 14 * i, 8, False, s[3 + i]) for i in range(3)]
    upside = [(50, 300, 11, False, s[8]), (50, 700, 11, False, s[6]), (50, 500, 11, False, s[7])]
    kerned = [(50, 700, 11, False, "The semi|conductor comp|anies adopted technolog|ies quickly."),
              (50, 680, 11, False, "Semiconductor companies adopted technologies in Hong Kong.")]
    repeat = kerned + [(50, 400, 11, False, s[9])]
    return make_layout_pdf([columns, upside, kerned, repeat]), s[:10]


def measure(name: str, extract: Extractor, data: bytes, vocab: set[str] | None) -> dict[str, float]:
    started = time.perf_counter()
    pages = extract(data)
    seconds = time.perf_counter() - started
    text = "\n".join(pages)
    n_words = max(1, len(words(text)))
    broken = broken_words(text, vocab) if vocab is not None else []
    return {"pages": len(pages), "words": n_words, "broken": len(broken), "broken_per_1000": round(1000 * len(broken) / n_words, 2),
            "repeated_lines": repeated_lines(pages), "private_use": len(re.findall("[\ue000-\uf8ff]", text)),
            "seconds_per_page": round(seconds / max(1, len(pages)), 4), "examples": sorted(set(broken))[:8]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    available = {}
    for name, extract in EXTRACTORS.items():
        try:
            extract(make_layout_pdf([[(50, 700, 11, False, "probe")]]))
            available[name] = extract
        except ImportError:
            print(f"{name}: not installed, left out", file=sys.stderr)
    figures: dict[str, dict[str, dict]] = {}
    data, expected = generated()
    for name, extract in available.items():
        row = measure(name, extract, data, None)
        pages = extract(data)
        row["order"] = f"{order_score(pages[:1], expected[:6]):.2f} / {order_score(pages[1:2], expected[6:9]):.2f}"
        kerned = "\n".join(pages[2:3])
        row["broken"] = sum(1 for w in ("semiconductor", "companies", "technologies") if w not in words(kerned))
        figures.setdefault("generated", {})[name] = row
    for path in args.pdfs:
        data = path.read_bytes()
        vocab = vocabulary(["\n".join(extract(data)) for extract in available.values()])
        for name, extract in available.items():
            figures.setdefault(path.name, {})[name] = measure(name, extract, data, vocab)
    print("| document | extractor | broken words (per 1000) | lines repeating the page before | private-use glyphs | "
          "reading order: columns / stream out of order | seconds per page |")
    print("|---|---|---|---|---|---|---|")
    for doc, rows in figures.items():
        for name, r in rows.items():
            order = r.get("order", "-")
            print(f"| {doc} | {name} | {r['broken']} ({r['broken_per_1000']}) | {r['repeated_lines']} | {r['private_use']} | "
                  f"{order} | {r['seconds_per_page']} |")
    for doc, rows in figures.items():
        for name, r in rows.items():
            if r["examples"]:
                print(f"{doc} {name}: {', '.join(r['examples'])}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
