"""Reading text nobody wrote for bayqa: hard-wrapped paragraphs made whole (bayqa.paragraphs) and Markdown as found
on the web (bayqa.markup), alone and through the document loader."""

from pathlib import Path

from bayqa.documents import load_document
from bayqa.markup import clean_markdown, split_front_matter
from bayqa.paragraphs import continues, rebuild, rebuild_pages, unwrap
from bayqa.terms import sentence_spans, terms

# A Chinese text wrapped at a fixed number of characters, as PDF converters leave it: breaks fall between the two
# characters of a word (监/管, 平方/公里).
CHINESE = (
    "河套深港科技创新合作区横跨深港界河深圳河两岸，按照一河两岸一区两园的思路建设，是国家规划确定的\n"
    "粤港澳大湾区四个重大合作平台之一。与前海、横琴、南沙相比，河套合作区的最大特点在于以科技创新为主题，其监\n"
    "管模式也与其他平台不同。合作区总面积约3.89平方公里，由两个园区组成，深圳园区位于深圳河北岸，面积3.02平方\n"
    "公里。\n"
)

ENGLISH = (
    "Hard-wrapped report\n"
    "\n"
    "The Northern Metropolis is the new engine for Hong Kong's economic development and\n"
    "holds immense potential. The Government will set up a committee whose recom-\n"
    "mendations cover the various areas, including a new Hong Kong-\n"
    "Shenzhen innovation corridor and construction that is both cheap and cost-\n"
    "effective, while the develop-\n"
    "ment of the University Town keeps pace with all the other development plans.\n"
    "\n"
    "Key figures\n"
    "- an area of about 300 square kilometres, which is a large share of the land\n"
    "  in the territory as a whole, and more than any earlier new town programme;\n"
    "- 500 000 new homes at low cost, an effective plan.\n"
    "Item        Area        Year\n"
    "Loop        87 ha       2021\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_wrapped_chinese_text_reads_as_whole_sentences_and_words(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "hetao.txt", CHINESE), tmp_path)
    assert "\n" not in doc.text.strip()  # no space either: the characters of a word meet again
    assert "其监管模式" in doc.text and "3.02平方公里。" in doc.text
    sentences = [doc.text[s:e] for s, e in sentence_spans(doc.text)]
    assert sentences[0].endswith("四个重大合作平台之一。")
    assert sentences[1] == "与前海、横琴、南沙相比，河套合作区的最大特点在于以科技创新为主题，其监管模式也与其他平台不同。"
    assert {"监管", "公里", "的粤"} - set(terms(doc.text)) == {"的粤"}  # 的 is a particle: no bigram across it
    assert "监管" not in terms(CHINESE) and "监管" in terms(doc.text)


def test_an_english_wrapped_text_joins_lines_and_split_words_only(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "report.txt", ENGLISH), tmp_path)
    paragraph = doc.text.split("\n\n")[1]
    assert "\n" not in paragraph
    assert "development and holds immense potential." in paragraph
    assert "recommendations cover" in paragraph  # "recom" is no word of the document: a word cut in two
    assert "the development of the University Town" in paragraph  # "development" occurs elsewhere
    assert "Hong Kong-Shenzhen innovation corridor" in paragraph  # a name after the hyphen: a compound
    assert "cheap and cost-effective," in paragraph  # "cost" and "effective" are words of it, "costeffective" no
    assert [paragraph[s:e] for s, e in sentence_spans(paragraph)][1].startswith("The Government will set up")
    lines = doc.text.split("\n")
    assert "Key figures" in lines and "- 500 000 new homes at low cost, an effective plan." in lines  # they stay lines
    assert any(line.startswith("- an area of about 300") and line.endswith("new town programme;") for line in lines)
    assert "Item        Area        Year" in lines and "Loop        87 ha       2021" in lines  # table rows too
    assert doc.title == "Hard-wrapped report"


def test_text_written_one_paragraph_per_line_is_left_alone() -> None:
    soft = (
        "# Plan\n\nThe plan covers eleven cities and sets targets for 2022 and 2035, which the text explains at length.\n"
        "It was issued in 2019.\n\n1. He Lifeng, then Director;\n2. Ma Xingrui, then Governor.\n\n"
        "| City | Role |\n|---|---|\n| Hong Kong | finance |\n\nShort line one\nShort line two\n"
    )
    assert rebuild(soft, markdown=True) == soft
    assert rebuild(soft) == soft


def test_page_numbers_and_lone_list_markers() -> None:
    page = (
        "I will also expedite the development of the University Town, streamline administrative procedures\n"
        "2\n"
        "by removing barriers and easing restrictions, and adopt safe and efficient construction practices.\n"
        "38.\n"
        "The Civil Service Bureau is tasked to conduct a study developing a more rigorous appraisal system.\n"
        "- \n"
        "Roll out AI tools covering 100 public administration procedures within 2026, and expand the\n"
        "coverage to no less than 200 by end-2027; (ITIB)\n"
    )
    assert rebuild(page).rstrip("\n").split("\n") == [
        "I will also expedite the development of the University Town, streamline administrative procedures by "
        "removing barriers and easing restrictions, and adopt safe and efficient construction practices.",
        "38. The Civil Service Bureau is tasked to conduct a study developing a more rigorous appraisal system.",
        "- Roll out AI tools covering 100 public administration procedures within 2026, and expand the coverage to "
        "no less than 200 by end-2027; (ITIB)",
    ]


def test_pdf_pages_share_one_vocabulary_for_hyphens() -> None:
    pages = [
        "Chapter One\nThe reindustrialisation of the city is a long programme that will take many years to finish and\n"
        "needs new land for its factories, new skills for its workers and a steady supply of re-\n"
        "industrialisation funding from the Government over the coming ten years or so.",
        "The word appears joined here: reindustrialisation, and never with a hyphen in the text.",
    ]
    first, second = rebuild_pages(pages)
    assert "a steady supply of reindustrialisation funding from" in first
    assert first.startswith("Chapter One\nThe reindustrialisation")  # a short line ends its paragraph
    assert second == pages[1]


def test_html_line_breaks_are_spaces_but_not_between_chinese(tmp_path: Path) -> None:
    assert unwrap("香港\n  园区 and the\n  Loop") == "香港园区 and the Loop"
    html = "<html><body><h1>Loop</h1><p>The Loop covers\n87 hectares.\nSee https://www.example.org/very/long/path/to/a/page.html</p><p>香港\n园区</p></body></html>"
    doc = load_document(write(tmp_path, "loop.html", html), tmp_path)
    assert "The Loop covers 87 hectares. See example.org" in doc.text
    assert "香港园区" in doc.text


MARKDOWN = """---
title: "《粵港澳大灣區發展規劃綱要》全文"
date: "2019-02-18"
tags:
  - "粵港澳大灣區"
  - "規劃綱要"
url: "https://web.archive.org/web/20210628221221/https://www.hkcnews.com/article/18551/%E7%B2%B5"
---

# Outline plan

![A map of the bay area](https://web.archive.org/web/20210628221221im_/https://www.hkcnews.com/map_large.png)

See [the full text](https://www.hkcnews.com/article/18551/full-text-of-the-plan) and the archive at
https://web.archive.org/web/20210628221221/https://www.hkcnews.com/article/18551 for details.

###

**前言**   
 **粵港澳大灣區總面積5.6萬平方公里。**

## Chapter 3

**第一節　發展基礎**

The San Tin Technopole spans some 210 hectares<sup>4</sup> of land.[^1]

**第二節　機遇挑戰**

Hong Kong keeps **bold words** inside sentences.

<figure>
<img src="https://example.org/a/very/long/image/address.png" alt="">
<img src="https://example.org/b.png" alt='Lok Ma Chau Loop'/>
<figcaption>The cities of the plan.</figcaption>
</figure>

[^1]: Area as planned in 2024.
"""


def test_markdown_as_found_on_the_web(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "plan.md", MARKDOWN), tmp_path)
    meta = dict(doc.metadata)
    assert doc.title == meta["title"] == "《粵港澳大灣區發展規劃綱要》全文"
    assert meta["date"] == "2019-02-18" and meta["tags"] == "粵港澳大灣區, 規劃綱要"
    assert "title:" not in doc.text and "%E7" not in doc.text
    assert "http" not in doc.text and "](" not in doc.text and "<" not in doc.text
    assert "A map of the bay area" in doc.text  # an image is its alt text
    # Two lines alone in a document that is not hard-wrapped cannot be judged: they stay as written.
    assert "See the full text and the archive at\nweb.archive.org for details." in doc.text
    assert "210 hectares of land." in doc.text and "[^1]" not in doc.text
    assert "Area as planned in 2024." in doc.text and "The cities of the plan." in doc.text
    assert "\nLok Ma Chau Loop\n" in doc.text  # an <img> too is its alt text, or nothing
    headings = [s.headings for s in doc.sections]
    assert all(h and all(h) for h in headings)  # no empty heading: "###" opened no section
    assert ("Outline plan", "前言") in headings  # a bold line set apart by a hard line break
    assert ("Outline plan", "Chapter 3", "第一節　發展基礎") in headings
    assert ("Outline plan", "Chapter 3", "第二節　機遇挑戰") in headings  # the next bold heading replaces the last
    assert not any("bold words" in h[-1] for h in headings)  # bold inside a paragraph is no heading


def test_section_offsets_point_into_the_returned_text(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "plan.md", MARKDOWN), tmp_path)
    for section in doc.sections:
        body = doc.text[section.start : section.end]
        assert body.strip() and (section.start == 0 or doc.text[section.start - 1] == "\n")
        if len(section.headings) > 1:  # the heading line just above the section names its last heading
            above = doc.text[: section.start].rstrip("\n").rsplit("\n", 1)[-1]
            assert section.headings[-1] in above
    found = {doc.text[s.start : s.end].strip().split("\n")[0]: s.headings[-1] for s in doc.sections}
    assert found["The San Tin Technopole spans some 210 hectares of land."] == "第一節　發展基礎"
    assert found["**粵港澳大灣區總面積5.6萬平方公里。**"] == "前言"


def test_front_matter_needs_yaml_keys() -> None:
    assert split_front_matter("---\ntitle: A\n---\nBody") == ({"title": "A"}, "Body")
    rule = "---\nJust a sentence after a rule.\n---\nMore text."
    assert split_front_matter(rule) == ({}, rule)
    code = "Use `[x](y)` as it is.\n\n```\n[keep](this)\n\n\n\n![and](this)\n```\n"
    assert clean_markdown(code) == code  # code spans and fenced code are shown as written


def test_a_column_narrower_than_the_page_wraps_at_its_own_margin() -> None:
    page = (
        "The Government has reviewed the indicators of last year's address and reports on each one here,\n"
        "including the tasks completed ahead of time and those that were delayed, with the reasons for them,\n"
        "as set out in the table below, which gives each task with what was done and what comes next. Most of\n"
        "the tasks were completed on time, and those that were not are explained in the notes of the table by\n"
        "the bureaux responsible for them, with the dates by which they are now expected to be completed.\n"
        "After examining the proposals submitted by the\n"
        "DEVB in mid-2025, the Chief Executive considered\n"
        "that the measures related to the Flat-for-Flat\n"
        "Scheme were not specific enough, and that the\n"
        "incentives could be enhanced.\n"
        "Data Analytics\n"
        "Sensors\n"
        "Cyber Security\n"
    )
    lines = rebuild(page).split("\n")
    assert "After examining the proposals submitted by the DEVB in mid-2025, the Chief Executive considered that the " \
        "measures related to the Flat-for-Flat Scheme were not specific enough, and that the incentives could be " \
        "enhanced." in lines
    assert lines[-4:-1] == ["Data Analytics", "Sensors", "Cyber Security"]  # short lines of all lengths: a list


def test_a_bullet_that_a_pdf_gives_as_the_letter_o_starts_an_item() -> None:
    block = (
        "The survey found that most companies in each of the three sectors look to markets close to home for sales:\n"
        "o FoodTech: 98%, 28% and 20% of companies considered Hong Kong, the Mainland and South East Asia as their\n"
        "main target markets respectively\n"
        "o HealthTech: 74%, 49% and 36% of companies considered Hong Kong, the Mainland and Europe as their main\n"
        "target markets respectively\n"
    )
    assert rebuild(block).split("\n")[1:3] == [
        "o FoodTech: 98%, 28% and 20% of companies considered Hong Kong, the Mainland and South East Asia as their "
        "main target markets respectively",
        "o HealthTech: 74%, 49% and 36% of companies considered Hong Kong, the Mainland and Europe as their main "
        "target markets respectively",
    ]


def test_a_line_continues_an_open_sentence_only_in_lower_case_or_chinese_and_not_as_an_item() -> None:
    assert continues("Without a sufficiently", "large talent pool, Hong Kong will")
    assert not continues("合作区总面积约", "3.89平方公里。")  # a figure may start a sentence: not known to go on
    assert continues("香港园区的面积", "约为0.87平方公里。")
    assert not continues("The survey ended in 2021.", "and then the report was written")
    assert not continues("The main markets are", "o HealthTech: 74% of companies")  # a bullet given as "o"
    assert not continues("Three things matter:", "a) land")


def test_lines_of_nothing_but_links_are_the_sites_navigation() -> None:
    page = ("[Skip to main content](#main)\n\n* [Home](https://example.com/)\n* [News](https://example.com/news)\n\n"
            "# Hetao zone opens its park\n\nThe park covers 87 hectares, says [the bureau](https://example.com/b).\n\n"
            "![Aerial view of the Loop](https://example.com/loop.jpg)\n\n## Related articles\n\n"
            "- [Qianhai expands eightfold](https://example.com/a1)\n1. [Outline](https://e.com/o) | [Plan](https://e.com/p)\n")
    assert clean_markdown(page).split() == (
        "# Hetao zone opens its park The park covers 87 hectares, says the bureau. Aerial view of the Loop ## Related articles"
    ).split()


def test_a_line_ending_in_an_abbreviation_goes_on_when_the_next_starts_in_lower_case() -> None:
    # The line is not full, and ends in a full stop; but no sentence starts with a word in lower case.
    text = ("Gruber and Johnson (2019) in their book Jump-Starting America identified 102 U.S.\n"
            "cities as having the fundamentals to be transformed into new-economy cities, including\n"
            "Detroit, which was hit hard by de-industrialisation.\n"
            "The authors ask for federal support.\n"
            "o a bullet that is a letter\n")
    rebuilt = rebuild_pages([text])[0].rstrip("\n").split("\n")
    assert rebuilt[0].startswith("Gruber") and "102 U.S. cities as having" in rebuilt[0] and rebuilt[0].endswith("de-industrialisation.")
    assert rebuilt[1:] == ["The authors ask for federal support.", "o a bullet that is a letter"]


def test_a_heading_wrapped_by_a_conversion_from_pdf_is_made_whole(tmp_path: Path) -> None:
    converted = ("## Chapter VII   Promote the Integrated Development\n\nof Education, Technology and Talents\n"
                 "134. The integrated development of education, technology and talents is key.\n\n"
                 "## Chapter VIII: Tourism\n\nand culture come together in the new blueprint.\n")
    path = tmp_path / "address.md"
    path.write_text(converted, encoding="utf-8")
    doc = load_document(path, tmp_path)
    assert [" ".join(s.headings[-1].split()) for s in doc.sections] == [
        "Chapter VII Promote the Integrated Development of Education, Technology and Talents", "Chapter VIII: Tourism"]
    assert doc.text[doc.sections[0].start:].lstrip().startswith("134. The integrated development")
    assert "and culture come together" in doc.text  # a heading closed by a colon takes no line after it


def test_a_subheading_before_a_numbered_paragraph_starts_a_passage_under_the_same_headings(tmp_path: Path) -> None:
    converted = ("## Chapter IX Labour\n\n"
                 "254. The Labour Department launched the Re-employment Allowance Pilot Scheme last year.\n"
                 "Set the First Minimum Wage Rate According to the New Annual Review Mechanism\n"
                 "255. The first statutory minimum wage rate under the new mechanism takes effect on 1 May 2026.\n")
    path = tmp_path / "address.md"
    path.write_text(converted, encoding="utf-8")
    doc = load_document(path, tmp_path)
    texts = [doc.text[s.start:s.end].strip() for s in doc.sections]
    assert len(texts) == 2 and texts[1].startswith("Set the First Minimum Wage Rate") and "254." in texts[0]
    assert [s.headings for s in doc.sections] == [("Chapter IX Labour",)] * 2  # the subheading is no heading
    plain = tmp_path / "plain.md"  # a short line inside running text, or before a list of figures, is no subheading
    plain.write_text("## Notes\n\nThe fund was set up in 2020.\nKey figures\n- 12 projects\n", encoding="utf-8")
    assert len(load_document(plain, tmp_path).sections) == 1


def test_a_stop_after_an_abbreviation_does_not_end_the_sentence() -> None:
    text = ("A taxpayer may claim twice the allowance (i.e. $260,000) for each child. Prof. Yeung King-lun made it. "
            "Firms, e.g. Chiaphua, joined Dr. Chan. The next one starts here.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "A taxpayer may claim twice the allowance (i.e. $260,000) for each child.",
        "Prof. Yeung King-lun made it.",
        "Firms, e.g. Chiaphua, joined Dr. Chan.",
        "The next one starts here.",
    ]
