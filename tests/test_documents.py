from pathlib import Path

import pytest

from bayqa.documents import DocumentError, load_corpus, load_document, parse_document, read_content
from bayqa.parsing import ParseCache, ParseLimits
from tests.helpers import make_pdf


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_markdown_headings_become_section_paths(tmp_path: Path) -> None:
    md = "# Plan\n\nIntro text.\n\n## Chapter 1\n\nFirst body.\n\n### 1.1 Detail\n\nDeep body.\n\n## Chapter 2\n\n```\n# not a heading\n```\nSecond body.\n"
    doc = load_document(write(tmp_path, "sub/plan.md", md), tmp_path)
    assert doc.id == "sub/plan.md"
    assert doc.title == "Plan"
    found = {doc.text[s.start:s.end].strip().splitlines()[0]: s.headings for s in doc.sections}
    assert found["Intro text."] == ("Plan",)
    assert found["First body."] == ("Plan", "Chapter 1")
    assert found["Deep body."] == ("Plan", "Chapter 1", "1.1 Detail")
    assert found["```"] == ("Plan", "Chapter 2")  # the fenced '# not a heading' did not open a section


def test_html_headings_and_scripts(tmp_path: Path) -> None:
    html = """<html><head><title>Qianhai page</title><script>var x = "<p>hidden</p>";</script></head>
    <body><nav>Menu</nav><h1>Qianhai</h1><p>Zone intro.</p><h2>Tax</h2><p>Rate is 15%.</p>
    <ul><li>Item one</li><li>Item <b>two</b></li></ul></body></html>"""
    doc = load_document(write(tmp_path, "q.html", html), tmp_path)
    assert doc.title == "Qianhai page"
    assert "hidden" not in doc.text and "Menu" not in doc.text
    tax = next(s for s in doc.sections if "15%" in doc.text[s.start:s.end])
    assert tax.headings == ("Qianhai", "Tax")
    assert "Item two" in doc.text


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(["Chapter One\nThe bay area has nine cities.", "Chapter Two\nMacao joins as well."], title="Outline Plan")
    doc = load_document(write(tmp_path, "plan.pdf", pdf), tmp_path)
    assert doc.kind == "pdf" and doc.pages == 2 and doc.title == "Outline Plan"
    pages = {s.page: doc.text[s.start:s.end] for s in doc.sections}
    assert "nine cities" in pages[1] and "Macao" in pages[2]


def test_text_title_and_encoding_detection(tmp_path: Path) -> None:
    gbk = "深圳与香港的合作\n\n河套合作区总面积约3.89平方公里，由深圳园区和香港园区组成。这是一段较长的中文文本，用于检测编码。".encode("gb18030")
    doc = load_document(write(tmp_path, "zh.txt", gbk), tmp_path)
    assert doc.title == "深圳与香港的合作"
    assert "3.89平方公里" in doc.text


def test_bad_files_are_reported_and_skipped(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "A fine document about the Northern Metropolis.")
    write(tmp_path, "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    write(tmp_path, "binary.txt", b"\x00\x01\x02\x03" * 100)
    write(tmp_path, "empty.md", "   \n")
    write(tmp_path, "README.md", "# notes about this folder")
    write(tmp_path, "image.png", b"\x89PNG")
    report = load_corpus(tmp_path)
    assert [d.id for d in report.documents] == ["good.txt"]
    joined = "\n".join(report.problems)
    assert "broken.pdf" in joined and "binary.txt" in joined and "empty.md" in joined
    assert len(report.problems) == 3


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_content_hash_tracks_bytes() -> None:
    a = parse_document(b"same text", "text", "a.txt", "a")
    b = parse_document(b"same text", "text", "b.txt", "b")
    c = parse_document(b"other text", "text", "a.txt", "a")
    assert a.content_hash == b.content_hash != c.content_hash


def test_front_matter_metadata_survives_the_parse_cache(tmp_path: Path) -> None:
    data = "---\ntitle: Qianhai plan\ndate: 2021-09-06\n---\n\n# Heading\n\nThe zone grows to 120.56 km².\n".encode()
    content = read_content(data, "markdown", "q.md")
    assert content.title == "Qianhai plan" and content.metadata == (("title", "Qianhai plan"), ("date", "2021-09-06"))
    cache = ParseCache(tmp_path / "parsed.sqlite")
    key = ParseCache.key(data, "markdown")
    cache.put(key, content, ParseLimits())
    assert cache.get(key, ParseLimits()) == content


def test_a_build_reads_the_cache_once_per_file_and_records_its_use_once(tmp_path: Path) -> None:
    from bayqa.parsing import BoundedReader

    class Counting(ParseCache):
        gets = touches = 0

        def get(self, key, limits):
            Counting.gets += 1
            return super().get(key, limits)

        def touch(self, keys):
            Counting.touches += 1
            super().touch(keys)

    (tmp_path / "corpus").mkdir()
    for n in range(3):
        (tmp_path / "corpus" / f"{n}.txt").write_text(f"Note {n}\n\nThe Hetao zone, note {n}.", encoding="utf-8")
    cache = Counting(tmp_path / "parsed.sqlite")
    with BoundedReader(cache, ParseLimits()) as read:
        first = load_corpus(tmp_path / "corpus", read)
        again = load_corpus(tmp_path / "corpus", read)  # what a build does: before the lock, then under it
    assert first.documents == again.documents and len(first.documents) == 3
    assert (Counting.gets, Counting.touches) == (3, 1), "one look-up per file, one write for the whole build"


def test_a_web_page_is_read_where_it_marks_its_content(tmp_path: Path) -> None:
    html = """<html><head><title>Hetao zone | News</title></head><body>
    <div role="navigation"><ul><li>Home</li><li>Politics</li></ul></div>
    <div class="cookie" role="dialog"><p>We use cookies.</p></div>
    <main><article><h1>Hetao zone opens its park</h1><p>The Hong Kong Park covers 87 hectares.</p></article></main>
    <aside><h2>Related</h2><ul><li>Qianhai expands to 120.56 km²</li></ul></aside>
    <div class="footer-links"><p>Contact us</p></div></body></html>"""
    doc = load_document(write(tmp_path, "news.html", html), tmp_path)
    assert doc.title == "Hetao zone | News"
    assert doc.text == "Hetao zone opens its park\n\nThe Hong Kong Park covers 87 hectares."
    plain = load_document(write(tmp_path, "plain.html", "<html><body><p>One.</p><aside><p>Aside.</p></aside></body></html>"), tmp_path)
    assert plain.text == "One."
    # No <main>: items and paragraphs that are nothing but links (related articles, "Read more") are the site's.
    unmarked = """<html><body><div class="story"><p>The park covers <a href="/hetao">87 hectares</a>.</p>
    <p><a href="/more">Read more »</a></p><h3>相關新聞</h3><ul><li><a href="/1">前海擴區</a></li>
    <li><a href="/2">Qianhai</a> | <a href="/3">Hengqin</a></li><li>Phase 2 opens in 2027.</li></ul></div></body></html>"""
    doc = load_document(write(tmp_path, "unmarked.html", unmarked), tmp_path)
    assert doc.text == "The park covers 87 hectares.\n\n相關新聞\n\nPhase 2 opens in 2027."
    # Inline markup joins the words around it: no space inside a Chinese word or before a sign.
    inline = "<html><body><p><a href='/q'>前海</a>擴區至<b>120.56</b>平方公里，稅率<em>15</em>%。</p></body></html>"
    assert load_document(write(tmp_path, "inline.html", inline), tmp_path).text == "前海擴區至120.56平方公里，稅率15%。"
    marked = "<html><body><p>It spans 210 hectares<sup>4</sup> of land.</p><p><sup>4</sup> Not including the Park.</p></body></html>"
    assert load_document(write(tmp_path, "marked.html", marked), tmp_path).text == "It spans 210 hectares of land.\n\nNot including the Park."
