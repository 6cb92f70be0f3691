"""What a question asks (bayqa.asking): the answer kind, and the parts of a question that asks several things."""

import pytest

from bayqa.asking import Part, asks_for, asks_why, counted, expected_answer, named_years, question_parts, written_chinese
from bayqa.query import Query
from bayqa.terms import terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        # "when" asks for a date only as a question word
        ("When did the bridge open?", "date"),
        ("Until when was the subsidy extended?", "date"),
        ("Do you know when the bridge opened?", "date"),
        ("Which city is linked, and when did the link open?", "date"),
        ("What year was the plan published?", "date"),
        ("Graduates of which years could take part in the scheme?", "date"),  # plural too
        # "when" as a conjunction asks for nothing
        ("Who was Governor of Guangdong when the framework agreement was signed?", None),
        ("Which themes should researchers focus on when analysing the plan?", None),
        ("Since the bridge opened, which city has road connections to both Hong Kong and Macao?", None),
        ("How many destinations could passengers reach when the line opened?", "figure"),  # the first question word
        ("When the river was straightened in 1997, how much land was left at the bend?", "figure"),  # sets the scene
        ("When the reform plan was released, who chaired the zone's authority?", None),
        ("When, by the plan, will the zone open?", "date"),  # no question word after the comma: "when" asks
        # money, in English and Chinese
        ("How much is the toll for a private car on the bridge?", "amount"),
        ("What is the toll for a private car on the bridge?", "amount"),
        ("What share of a product's manufacturing costs must arise in Switzerland?", "figure"),  # a share of money
        ("制造成本的占比是多少？", "figure"),
        ("What is the high-speed rail fare from West Kowloon to Futian?", "amount"),
        ("What's the annual rent?", "amount"),
        ("How much will Shenzhen spend on the new port?", "amount"),  # spending, paying, investing is money
        ("How much does South Korea spend on R&D as a share of GDP?", "figure"),  # but a share of it is a percentage
        ("港珠澳大桥的建设总投资是多少？", "amount"),
        ("What’s the fare for a child?", "amount"),
        ("What are the fees charged to applicants?", "amount"),
        ("What is the toll road called?", None),  # the money word does not head the phrase
        ("What is the cost-sharing arrangement?", None),
        ("What are the costs and benefits?", None),
        ("收费是多少？", "amount"),
        ("费用是多少？", "amount"),
        ("票价是多少？", "amount"),
        ("写字楼租金是多少？", "amount"),
        ("How many jobs will the zone create?", "figure"),
        # a wage, salary or budget is money too; the money word may come right after "what", before the verb
        ("What is the minimum wage in Shenzhen?", "amount"),
        ("What is the annual operating budget of the authority?", "amount"),
        ("What monthly rent does the park charge its tenants?", "amount"),
        ("What salary must employers pay under the scheme?", "amount"),
        ("What wage policy does the plan set?", None),
        ("How deep is the river at the Loop?", "figure"),
        # "when" before a participle opens a clause; "as a share of" asks for a figure
        ("When choosing where to do R&D, what do manufacturers consider first?", None),
        ("When asked about costs, which factor did firms name?", None),
        ("What was Hong Kong's R&D spending as a share of GDP in 2001?", "figure"),
        # a rate is a figure ("hourly rate" of a wage: money)
        ("What is the rate of return on the fund?", "figure"),
        ("What hourly rate will the statutory minimum wage be?", "amount"),
        ("What is the exchange rate regime of Hong Kong?", None),  # the rate does not head the phrase
        # 几 after 的 / 这 / 前 … is "the few", no question word: the question asks when
        ("香港园区剩下的几栋楼什么时候能建好？", "date"),
        ("香港园区有几栋楼？", "figure"),
    ],
)
def test_the_answer_kind_of_when_and_money_questions(question: str, kind: str | None) -> None:
    assert expected_answer(question) == kind


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("香港科學園深圳分園是什麼時候開幕的？", "香港科学园深圳分园是什么时候开幕的？"),
        ("大橋幾時通車？", "大桥什么时候通车？"),
        ("園區有幾多間公司？", "园区有多少家公司？"),
        ("邊個月開始接受申請？", "哪个月开始接受申请？"),
        ("車票多少錢？", "车票多少钱？"),
        ("收費是多少？", "收费是多少？"),
    ],
)
def test_traditional_and_cantonese_question_words_count_like_simplified(traditional: str, simplified: str) -> None:
    assert expected_answer(traditional) == expected_answer(simplified) is not None


def test_almost_is_no_how_many() -> None:
    assert asks_for("几乎所有企业都在哪里注册？") is None and asks_for("幾乎所有企業都在哪裡註冊？") is None


def test_which_ones_is_no_how_many() -> None:
    assert asks_for("哪几个城市参与了这个计划？") is None and asks_for("哪幾間大學在河套設校？") is None
    assert asks_for("有几个城市参与了这个计划？") == "figure" and asks_for("第幾次獲獎？") == "figure"


def test_a_date_word_and_a_figure_word_at_the_same_place_ask_for_a_date() -> None:
    assert asks_for("几时开通？") == asks_for("幾時開通？") == "date"


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("When was the scheme first used, and when did the quota rise?",
         ["When was the scheme first used", "when did the quota rise?"]),
        ("Which pairs of cities are linked, and which link is strongest?",
         ["Which pairs of cities are linked", "which link is strongest?"]),
        ("When did the bridge open? How much did it cost?", ["When did the bridge open", "How much did it cost?"]),
        ("For the bridge, when did it open and how much did it cost?",
         ["For the bridge, when did it open", "how much did it cost?"]),
        ("河套合作区什么时候开始建设，面积是多少？", ["河套合作区什么时候开始建设", "面积是多少？"]),
        ("根据规划，河套合作区面积是多少？", ["根据规划，河套合作区面积是多少？"]),  # one question: the comma only leads in
        ("What are the costs and benefits?", ["What are the costs and benefits?"]),
        ("Who was mayor when the plan was issued?", ["Who was mayor when the plan was issued?"]),
    ],
)
def test_a_question_is_cut_into_the_questions_it_asks(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


def test_a_query_keeps_its_parts_only_when_it_asks_several_things() -> None:
    query = Query.of("When did the bridge open, and how much did it cost?")
    assert query.parts == (Part(frozenset(terms("When did the bridge open")), "date"),
                           Part(frozenset(terms("how much did it cost?")), "amount"))
    assert query.answer_kind == "date"  # the first question word still decides the whole question's kind
    assert Query.of("When did the bridge open?").parts == ()


@pytest.mark.parametrize(("question", "years"), [
    ("How many headquarters were in Hong Kong in 2015?", {"2015"}),
    ("粤港澳大湾区2020年末总人口是多少？", {"2020"}),
    ("What changed from 1997 to 2047?", {"1997", "2047"}),
    ("Which fund holds HK$2019.5 million, or 2,015 units?", set()),  # amounts, not years
    ("What does code 20201 mean?", set()),
])
def test_the_years_a_question_names(question: str, years: set[str]) -> None:
    assert named_years(question) == years and Query.of(question).years == years


def test_spoken_cantonese_is_read_as_written_chinese() -> None:
    assert written_chinese("香港嘅海岸線有幾多公里長？") == "香港的海岸線有多少公里長？"
    assert written_chinese("有幾多人嚟咗香港？而家係點樣？") == "有多少人來了香港？現在是怎樣？"
    assert written_chinese("兩地關係同仲裁") == "兩地關係同仲裁"  # 係 and 仲 inside standard words stay
    assert written_chinese("想揸車搵呢啲嘢") == "想開車找這些東西"
    cantonese, written = Query.of("香港而家有幾多個氫能項目？"), Query.of("香港現在有多少個氫能項目？")
    assert cantonese.terms == written.terms and cantonese.read == written.text and cantonese.text.startswith("香港而家")
    assert Query.of("How long is it?").reading is None


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("How many hours a year must scholarship holders volunteer?", "hour"),
        ("Under the scheme, how many local staff must a company hire?", "local"),  # as "one local staff" says it
        ("How many of the world's top 100 universities are in Hong Kong?", None),  # "of": it names none
        ("How much did the project cost?", None),
        ("新田科技城有多少公顷土地？", None),  # a unit of measure, not a count
        ("前海有多少家注册的港资企业？", "家"),  # a measure word counts
        ("園區有幾座實驗樓？", "座"),
        ("剩下的几栋楼什么时候建好？", None),  # "the few": no count asked
    ],
)
def test_what_a_how_many_question_counts(question: str, unit: str | None) -> None:
    assert counted(question) == unit
    assert Query.of(question).counted == unit


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("Why does Hong Kong lack venture capital?", True),
        ("How come the quota was raised?", True),
        ("为什么河套适合试验规则衔接？", True),
        ("點解施政報告要延長限制期？", True),
        ("What is the venture capital of Hong Kong?", False),
        ("河套合作区面积有多大？", False),
    ],
)
def test_a_question_that_asks_for_a_reason(question: str, why: bool) -> None:
    assert asks_why(question) is why
    assert Query.of(question).why is why
