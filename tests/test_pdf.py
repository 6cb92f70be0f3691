"""Reading real-world PDF layouts, on PDFs generated here: outline sections, printed page labels, running headers,
page numbers, chart ticks, private-use bullets, a page that repeats the one before, and the title."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bayqa.chunking import ChunkSettings, chunk_document
from bayqa.documents import Content, Document, Section, parse_document
from bayqa.parsing import ParseCache, ParseLimits
from bayqa.pdflayout import lay_out
from bayqa.pdfpages import Line, Page
from bayqa.store.chunkdb import document_text, headings, read_chunks, write_chunk_db
from bayqa.store.manifest import DocumentInfo
from tests.helpers import make_layout_pdf

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Hong Kong Policy Review 2024"
BODY = 11
REPEATED = ["The Northern Metropolis covers three hundred square kilometres of land.",
            "Its first phase links Lok Ma Chau Loop with the Shenzhen Futian port.",
            "Housing for half a million people is planned along the rail line."]


def body(y: float, text: str) -> tuple[float, float, float, bool, str]:
    return (60, y, BODY, False, text)


def report_pages() -> list[list[tuple[float, float, float, bool, str]]]:
    """Five pages printed as 63-67: a header and a page-number footer on each, two chapters, a chart axis, a
    private-use bullet, and a fourth page drawing the third page's text again above its own."""
    pages = [
        [(60, 700, 18, True, "Chapter One: Bay Area"), body(660, "The Greater Bay Area joins nine cities and two SARs."),
         body(646, "\x80 Ports handle cargo for the whole delta.")],
        [(60, 700, 14, True, "1.1 Transport"), body(660, "High-speed rail links Hong Kong with Guangzhou."),
         body(500, "0% 10% 20% 30% 40% 50% 60% 70%"), body(486, "2015 2016 2017 2018"), body(300, "Rail ridership grew every year.")],
        [(60, 700, 18, True, "Chapter Two: Finance"), *(body(660 - 14 * i, line) for i, line in enumerate(REPEATED))],
        [*(body(660 - 14 * i, line) for i, line in enumerate(REPEATED)), body(618, "The Loop will host a university campus."),
         body(604, "Cross-boundary wealth management connects both markets.")],
        [body(660, "Stock Connect lets mainland investors buy Hong Kong shares.")],
    ]
    for number, lines in enumerate(pages, start=63):
        lines.insert(0, (60, 810, 9, False, HEADER))
        lines.append((290, 40, 9, False, str(number)))
    return pages


OUTLINE = [(1, "Chapter One: Bay Area", 0, 720.0), (2, "1.1 Transport", 1, 720.0), (1, "Chapter Two: Finance", 2, 720.0)]


def report(title: str | None = "Microsoft Word - report draft.docx", first_label: int | None = 63) -> bytes:
    return make_layout_pdf(report_pages(), outline=OUTLINE, first_label=first_label, title=title)


def read_pdf(data: bytes) -> Document:
    return parse_document(data, "pdf", "review.pdf", "review")


def section_of(doc: Document, phrase: str) -> Section:
    return next(s for s in doc.sections if phrase in doc.text[s.start:s.end])


def test_outline_gives_section_paths_and_pages_their_printed_labels() -> None:
    pdf = read_pdf(report())
    assert pdf.pages == 5
    transport = section_of(pdf, "High-speed rail")
    assert transport.headings == ("Chapter One: Bay Area", "1.1 Transport")
    assert (transport.page, transport.page_label) == (2, "64")
    assert section_of(pdf, "nine cities").headings == ("Chapter One: Bay Area",)
    loop = section_of(pdf, "university campus")
    assert loop.headings == ("Chapter Two: Finance",) and (loop.page, loop.page_label) == (4, "66")
    # the heading line is in the text but not in its section's span, as with Markdown headings
    assert "1.1 Transport" in pdf.text and "1.1 Transport" not in pdf.text[transport.start:transport.end]


def test_headers_page_numbers_chart_ticks_and_private_use_glyphs_are_dropped() -> None:
    text = read_pdf(report()).text
    assert HEADER not in text
    assert not any(line.strip().isdigit() for line in text.splitlines())
    assert "10% 20%" not in text and "2015 2016" not in text
    assert "\uf075" not in text and "\uf0d8" not in text
    assert "Ports handle cargo for the whole delta." in text and "Rail ridership grew every year." in text


def test_a_page_repeating_the_previous_page_keeps_only_its_own_text() -> None:
    pdf = read_pdf(report())
    assert all(pdf.text.count(line) == 1 for line in REPEATED)
    assert section_of(pdf, REPEATED[0]).page == 3
    assert section_of(pdf, "university campus").page == 4


def test_title_skips_file_names_and_keeps_real_metadata_titles() -> None:
    assert read_pdf(report()).title == "Chapter One: Bay Area"  # "Microsoft Word - …" is no title: the largest type is
    assert read_pdf(report(title="report-final.pdf")).title == "Chapter One: Bay Area"
    assert read_pdf(report(title="深圳規劃.pdf")).title == "Chapter One: Bay Area"
    assert read_pdf(report(title="Bay Area Policy Review")).title == "Bay Area Policy Review"


def test_a_chapter_printed_with_its_publications_cover_is_titled_by_the_chapter() -> None:
    """A chapter file opening with the book's cover, the book's name as metadata title and as left-page header, the
    chapter's name as right-page header: the title is the chapter's, shared by no other chapter of the book."""
    book, chapter = "Economic Policy Green Paper 2022", "Creating a Good-jobs City"
    pages = [[(60, 500, 40, True, "Economic Policy"), (60, 450, 40, True, "Green Paper 2022")],
             [(60, 700, 24, True, chapter), body(660, "Good jobs pay a middle-class income.")]]
    for n in range(2, 8):
        pages.append([body(660, f"Paragraph {n} about jobs and wages in the city.")])
    for n, lines in enumerate(pages[1:], start=1):
        lines.insert(0, (60, 820, 9, True, book if n % 2 else chapter))
        lines.append((290, 40, 9, False, str(36 + n)))
    pdf = read_pdf(make_layout_pdf(pages, first_label=1, title=book))
    assert pdf.title == chapter
    assert "Green Paper 2022" not in pdf.text
    # printed numbers (37 on the second PDF page) win over /PageLabels that number from 1
    assert (section_of(pdf, "Paragraph 2").page, section_of(pdf, "Paragraph 2").page_label) == (3, "38")
    assert section_of(pdf, "Good jobs pay").headings == (chapter,)


def test_without_an_outline_type_sizes_and_weights_make_the_headings() -> None:
    pages = [[(60, 760, 20, True, "Qianhai Annual Report"), (60, 720, 15, True, "1. Tax"),
              body(700, "Qualifying firms pay 15 percent profits tax."), (60, 680, BODY, True, "Who qualifies"),
              body(660, "Firms in encouraged industries qualify."), (60, 620, 15, True, "2. Talent"),
              body(600, "Individual income tax above 15 percent is refunded.")]]
    pdf = read_pdf(make_layout_pdf(pages))
    assert pdf.title == "Qianhai Annual Report"
    assert section_of(pdf, "profits tax").headings == ("Qianhai Annual Report", "1. Tax")
    assert section_of(pdf, "encouraged industries").headings == ("Qianhai Annual Report", "1. Tax", "Who qualifies")
    assert section_of(pdf, "refunded").headings == ("Qianhai Annual Report", "2. Talent")


def test_page_labels_come_from_the_pdf_when_pages_print_no_numbers() -> None:
    pages = [[body(700, f"Page {n} text about the Hetao zone.")] for n in range(3)]
    labelled = read_pdf(make_layout_pdf(pages, first_label=5))
    assert [s.page_label for s in labelled.sections] == ["5", "6", "7"]
    assert [s.page_label for s in read_pdf(make_layout_pdf(pages)).sections] == [None, None, None]


def test_pdf_words_split_at_line_ends_are_joined_only_when_the_document_knows_the_word() -> None:
    pages = [Page(1, 842, (Line("Semiconductor firms use new tech\ufffenology and good\ufffejobs follow.", 700, 11, False),
                           Line("Technology matters.", 680, 11, False)), None)]
    assert "new technology and good-jobs follow" in lay_out(pages, [], "").text


def test_passages_carry_the_page_label_through_the_cache_and_the_chunk_database(tmp_path: Path) -> None:
    doc = read_pdf(report())
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkSettings())
    labelled = next(c for c in chunks if "High-speed rail" in c.text)
    assert (labelled.page, labelled.page_label) == (2, "64")

    cache = ParseCache(tmp_path / "parsed.sqlite")
    content = Content(doc.text, doc.sections, doc.title, doc.pages)
    cache.put(ParseCache.key(b"x", "pdf"), content, ParseLimits())
    assert cache.get(ParseCache.key(b"x", "pdf"), ParseLimits()) == content

    info = DocumentInfo(doc.id, doc.title, doc.kind, doc.content_hash, doc.size, doc.pages, len(chunks), "t", "t")
    path = tmp_path / "chunks.sqlite"
    write_chunk_db(path, [doc], [info], chunks)
    with sqlite3.connect(path) as db:
        texts = lambda doc_id: document_text(db, doc_id)  # noqa: E731
        assert read_chunks(db, headings, texts) == chunks
        # a chunk database written before page labels (no such column) still reads, without labels
        db.executescript("ALTER TABLE chunks DROP COLUMN page_label")
        assert [c.page_label for c in read_chunks(db, headings, texts)] == [None] * len(chunks)
        assert [c.page for c in read_chunks(db, headings, texts)] == [c.page for c in chunks]


def test_reading_pdfs_needs_no_files_outside_the_package() -> None:
    """The real PDFs used to tune these rules live outside the repository: nothing that ships may refer to them."""
    shipped = [p for folder in ("src", "api") for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".js", ".html"}]
    assert shipped
    assert not [p for p in shipped if "realdocs" in p.read_text(encoding="utf-8") or "/work/" in p.read_text(encoding="utf-8")]


def test_the_api_and_the_cli_give_the_page_label_beside_the_page(tmp_path: Path) -> None:
    import httpx

    from bayqa.api.app import create_app
    from bayqa.api.schemas import DocumentDetail, SearchResponse
    from bayqa.cli import passage_json
    from bayqa.config import Settings
    from bayqa.query import Query
    from bayqa.service import Service
    from tests.conftest import FakeEncoder, LiveServer

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "review.pdf").write_bytes(report())
    service = Service(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), FakeEncoder())  # type: ignore[arg-type]
    service.build()
    service.load()
    question = "High-speed rail Hong Kong Guangzhou"
    top = passage_json(service.answer(Query.parse(question, 500), k=3, mode="keyword").hits[0])
    assert (top["page"], top["page_label"]) == (2, "64")
    with LiveServer(create_app(service)) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        found = SearchResponse.model_validate(api.get("/search", params={"q": question, "k": 3, "mode": "keyword"}).json())
        assert (found.results[0].page, found.results[0].page_label) == (2, "64")
        detail = DocumentDetail.model_validate(api.get("/documents/review.pdf").json())
        assert {(p.page, p.page_label) for p in detail.passages} >= {(1, "63"), (2, "64"), (4, "66")}


def test_a_paragraph_broken_by_a_page_break_stays_whole_with_the_page_it_began_on() -> None:
    pages = [
        [(60, 740, 18, True, "Talent"), body(700, "Hong Kong's land supply has grown since the first plans were drawn. Without a sufficiently")],
        [body(700, "large talent pool, Hong Kong will find it hard to keep its best researchers in the"),
         body(686, "city for long."), body(640, "A new paragraph starts the page's own text."),
         body(626, "and another line of it follows.")],
        [body(700, "the next page begins in lower case after a full stop, and stays its own."),
         body(686, "It has a second line."), (60, 60, 8, False, "2 Another note without a stop")],
        [body(700, "a page after a footnote stays its own too.")],
    ]
    for number, lines in enumerate(pages, start=1):
        lines.append((290, 40, 9, False, str(number)))
    doc = read_pdf(make_layout_pdf(pages))
    whole = "Without a sufficiently large talent pool, Hong Kong will find it hard to keep its best researchers in the city for long."
    assert whole in doc.text
    assert section_of(doc, "talent pool").page == 1 and section_of(doc, "page's own text").page == 2
    assert section_of(doc, "begins in lower case").page == 3 and section_of(doc, "after a footnote").page == 4


def test_footnotes_at_the_foot_of_a_page_do_not_cut_the_sentence_that_runs_on_to_the_next() -> None:
    pages = [
        [body(700, "As figure 6 shows, the value added of the electronics industry accounted"),
         (60, 80, 8, False, "17 HKPC (2016) A study of manufacturing in Hong Kong"), (60, 70, 8, False, "18 Census data, 2019")],
        [body(700, "for a mere 3.6% of manufacturing value added, despite receiving proportionally"),
         body(686, "the largest funding."),
         body(640, "A new paragraph starts the page's own text."), body(626, "and another line of it follows.")],
    ]
    for number, lines in enumerate(pages, start=1):
        lines.append((290, 40, 9, False, str(number)))
    doc = read_pdf(make_layout_pdf(pages))
    whole = "industry accounted for a mere 3.6% of manufacturing value added, despite receiving proportionally the largest funding."
    assert whole in doc.text, doc.text
    # Nothing is lost: the notes follow the sentence they interrupted, in the section of their page.
    notes = doc.text.index("17 HKPC (2016)")
    assert doc.text.index(whole) < notes < doc.text.index("18 Census data") < doc.text.index("A new paragraph")
    assert section_of(doc, "17 HKPC").page == 1 and section_of(doc, "page's own text").page == 2


def test_a_chinese_research_note_printed_by_a_browser_reads_whole() -> None:
    """tests/fixtures/research_note/note.pdf is note.html printed by Chromium (`chromium --headless --no-sandbox
    --no-pdf-header-footer --print-to-pdf=note.pdf note.html`): three pages of Simplified Chinese with a running
    disclaimer header, page numbers and a heading each, titled with the HTML file's name."""
    doc = parse_document((ROOT / "tests/fixtures/research_note/note.pdf").read_bytes(), "pdf", "note.pdf", "note")
    # Each heading is one level: their glyph boxes measure 15.1-15.6 (一 is flat), their type one size.
    assert [(s.headings, s.page_label) for s in doc.sections] == [
        (("一、产业结构",), "1"), (("二、跨境金融",), "2"), (("三、科技创新",), "3")]
    assert doc.title == "一、产业结构"  # not "大湾区产业与金融深度报告.html"
    assert "免责声明" not in doc.text and "行业深度报告" not in doc.text
    paragraph = next(p for p in doc.text.split("\n") if p.startswith("跨境金融方面"))
    assert paragraph.endswith("跨境保险与养老金融产品有望扩容。") and "监管协调" in paragraph  # wrapped lines joined


def test_a_figure_alone_on_the_last_line_of_a_sentence_stays() -> None:
    page = [body(700, "The Northern Link will connect the Tuen Ma Line with the East Rail Line, and its"),
            body(686, "construction is scheduled to begin in the year 2025 for its completion in the"), body(672, "2034."),
            (300, 676, 7, False, "3"),  # a footnote mark beside it
            body(640, "Ridership by year is shown below."), body(500, "2015 2016 2017 2018"), body(486, "0% 10% 20% 30%")]
    doc = read_pdf(make_layout_pdf([page]))
    assert "scheduled to begin in the year 2025 for its completion in the 2034." in doc.text
    assert "2015" not in doc.text and "10%" not in doc.text and "2034. 3" not in doc.text


def test_footnote_marks_set_small_and_raised_are_not_text() -> None:
    page = [body(700, "The Northern Link will be completed by 2034."), (280, 704, 7, False, "3"),
            body(686, "Its second phase follows in 2039."), (300, 690, 7, False, "14"),
            body(672, "It has 3 parks in 2 areas and Industry 4.0 plants.")]
    doc = read_pdf(make_layout_pdf([page]))
    assert doc.text.split("\n") == ["The Northern Link will be completed by 2034.", "Its second phase follows in 2039.",
                                     "It has 3 parks in 2 areas and Industry 4.0 plants."]


def test_a_line_ending_in_a_hyphen_keeps_its_own_place_so_its_paragraph_stays_whole() -> None:
    # pdfium reads "two-" and the next line as one line (the hyphen marked U+FFFE); taken at the first line's place,
    # the gap below them had looked like a paragraph's and cut the sentence.
    lines = ["Regarding policies to attract foreign talents, the government should relax the",
             "rules of the scheme and widen its quotas in the coming years. For example, the two-",
             "year contract and the bundled arrangement to employ at least one local",
             "staff per foreign worker are reasons that have discouraged companies."]
    page = [body(700 - 14 * i, text) for i, text in enumerate(lines)] + [body(630, "A new paragraph starts here.")]
    text = read_pdf(make_layout_pdf([page])).text
    first, second = text.split("\n\n")
    assert "For example, the two-year contract and the bundled arrangement to employ at least one local staff" in first
    assert second == "A new paragraph starts here."


def test_a_footnote_mark_that_breaks_a_printed_line_is_dropped_and_the_line_kept_whole() -> None:
    # pdfium reads "Listed …,", "28" and "and the offering …" as three lines: one printed line, and a mark.
    page = [body(700, "Listed on the Stock Exchange,"), (212, 709, 6, False, "28"),
            (221, 700, BODY, False, "and the offering raised HKD 209 billion."), body(686, "Other figures follow.")]
    text = read_pdf(make_layout_pdf([page])).text
    assert text.split("\n")[0] == "Listed on the Stock Exchange, and the offering raised HKD 209 billion."
    assert "28" not in text


def test_a_diagrams_close_labels_do_not_make_every_line_of_text_a_paragraph() -> None:
    text = ["Switzerland adopts liberal labour laws to nurture a specialised talent pool. Vocational",
            "training is oriented to the labour market and aims to strike a balance between",
            "theoretical and practical knowledge, so its workers are well trained."]
    labels = [Line(word, 760 - 11 * i, 8.0, False) for i, word in enumerate("Political Stability Good Infrastructure "
                                                                          "Attractive Tax System Developed Market".split())]
    page = Page(1, 842, (*[Line(t, 400 - 22 * i, 11.0, False) for i, t in enumerate(text)], *labels), None)
    laid = lay_out([page], [], "")
    assert " ".join(text) in " ".join(laid.text.split("\n\n")[0].split("\n"))


def test_a_charts_labels_in_the_body_type_do_not_make_every_line_of_text_a_paragraph() -> None:
    text = ["When asked about what Industry 4.0 technologies are important to the companies,",
            "the responses are diverse. The top six Industry 4.0 technologies are (1) cyber",
            "security, (2) human-machine interface (HMI), (3) sensors, (4) data analytics."]
    # The chart's labels are in the same type as the text, set closer, and more of them.
    labels = [Line(word, 760 - 14.6 * i, 11.0, False) for i, word in enumerate(
        "New business / and revenue / model / Product / innovation / Improved / service / offered to".split(" / "))]
    page = Page(1, 842, (*[Line(t, 400 - 22 * i, 11.0, False) for i, t in enumerate(text)], *labels), None)
    laid = lay_out([page], [], "")
    assert " ".join(text) in laid.text.split("\n\n")[0].replace("\n", " ")


def test_a_table_of_contents_entries_are_not_text() -> None:
    contents = Page(1, 842, (Line("Table of Contents", 760, 14.0, True),
                             Line("Executive Summary ........................................ 3", 730, 11.0, False),
                             Line("Chapter 1: Why Does Hong Kong Need Reindustrialisation? . . . . . . . 8", 716, 11.0, False),
                             Line("Chapter 2: Benchmark Countries……………… 13", 702, 11.0, False)), None)
    body_page = Page(2, 842, (Line("Executive Summary", 760, 14.0, True),
                              Line("The study surveyed 184 companies in three industries.", 730, 11.0, False)), None)
    laid = lay_out([contents, body_page], [], "")
    assert "Why Does Hong Kong" not in laid.text and "Benchmark Countries" not in laid.text and "....." not in laid.text
    assert "The study surveyed 184 companies in three industries." in laid.text
