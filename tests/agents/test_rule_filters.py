import pytest

from concept_distill.agents.rule_filters import (
    batch_text,
    check_rule,
    distinct_rules,
    fold,
    similarity,
)
from concept_distill.records import Attempt, Example, ExampleResult, Judgement

CANDY = "Debby had 32 pieces of candy and her sister Mia had 42. They ate 35. How many are left?"
CANDY_ANSWERS = "39\nThe answer is 74."
# The batch behind a rule the old filter let through (issue 12): lower-case objects, a number.
HONEY = (
    "Jenna makes honey cakes. The ingredients for one cake cost $3 and she sells them at the "
    "market. She also sells honey in 10 jars for $8 each. What is her profit?"
)
HONEY_ANSWERS = "52\nThe total is 80 dollars.\nThe answer is 80."
EATEN = "When a problem says some items were eaten, subtract them from the total."
STEPS = (
    "When a problem has several steps, compute one intermediate value per line and finish "
    "with 'The answer is N'."
)


@pytest.mark.parametrize(
    ("rule", "problems", "answers", "existing", "expected"),
    [
        # leaks: objects and numbers of the batch, whatever their case or number
        (
            "When calculating the total cost of the ingredients, the student should include the "
            "cost of the honey and the total revenue from selling 10 jars",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("leak", "quotes '10' from its batch"),
        ),
        (
            "When calculating the total cost of the ingredients, the student should include the "
            "cost of the honey and the total revenue from selling jars",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("leak", "quotes 'ingredients' from its batch"),
        ),
        (
            "When a cake recipe is given, add the cost of the honey.",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("leak", "quotes 'cake' from its batch"),
        ),
        (
            "When selling a JAR, add its price.",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("leak", "quotes 'JAR' from its batch"),
        ),
        (
            "When there are 10 of something, multiply.",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("leak", "quotes '10' from its batch"),
        ),
        (
            "When Debby shares, add both amounts first.",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("leak", "quotes 'Debby' from its batch"),
        ),
        (
            "When you finish, write 'The answer is 74.'",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("leak", "quotes '74' from its batch"),
        ),
        (
            "When sharing candies, count the pieces.",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("leak", "quotes 'candies' from its batch"),
        ),
        # general rules stay
        (STEPS, HONEY, HONEY_ANSWERS, [], ("proposed", "")),
        (STEPS, CANDY, CANDY_ANSWERS, [], ("proposed", "")),
        (EATEN, CANDY, CANDY_ANSWERS, [], ("proposed", "")),
        (
            "When computing profit, subtract the total cost from the total revenue.",
            HONEY,
            HONEY_ANSWERS,
            [],
            ("proposed", ""),
        ),
        (
            "When converting hours to minutes, multiply by 60.",
            "It took 60 minutes.",
            "1",
            [],
            ("proposed", ""),
        ),
        (
            "When the function returns a list, return True or False only for boolean results.",
            "def f(xs: list) -> bool:\n    '''Return True if the list is sorted.'''",
            "return xs == sorted(xs)",
            [],
            ("proposed", ""),
        ),
        # a format keyword demanded by the reference is not an object of the batch
        (
            "When you reply, start your reply with the word ANSWER: followed by your answer.",
            "Name one fruit.",
            r"(?m)^\W*ANSWER\s*:",
            [],
            ("proposed", ""),
        ),
        # the other checks
        (
            "Always double-check your calculations carefully.",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("generic", "generic advice without a situation it applies to"),
        ),
        (
            "When a problem mentions eating, double-check the subtraction step.",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("proposed", ""),
        ),
        (
            "When " + "very " * 40 + "long.",
            CANDY,
            CANDY_ANSWERS,
            [],
            ("too_long", "longer than 40 words"),
        ),
        ("   ", CANDY, CANDY_ANSWERS, [], ("malformed", "empty rule")),
        (
            "When a problem says items were eaten, subtract them from the total amount.",
            CANDY,
            CANDY_ANSWERS,
            [EATEN],
            ("duplicate", f"near-duplicate of: {EATEN}"),
        ),
    ],
)
def test_known_rules_get_known_statuses(
    rule: str, problems: str, answers: str, existing: list[str], expected: tuple[str, str]
) -> None:
    assert check_rule(rule, problems, answers, existing) == expected


@pytest.mark.parametrize(
    ("illustration", "expected"),
    [
        ("Tom buys 3 pens at 2 dollars each: 3 x 2 = 6, so the answer is 6.", "proposed"),
        ("Jenna sells 3 jars at 2 dollars: 3 x 2 = 6.", "leak"),
        ("A line.\nAnother line.", "too_long"),
    ],
)
def test_the_illustration_is_checked_too(illustration: str, expected: str) -> None:
    rule = "When items are sold at one price, multiply the price by the number of items."
    status, _ = check_rule(rule, HONEY, HONEY_ANSWERS, [], illustration=illustration)
    assert status == expected


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("jars", "jar", "JARS"), True),
        (("berries", "berry"), True),
        (("cookies", "cookie"), True),
        (("boxes", "box"), True),
        (("glasses", "glass"), True),
        (("calculating", "calculate", "calculated"), True),
        (("running", "run"), True),
        (("honey", "jar"), False),
        (("bus", "buses"), True),
        (("initially", "initial"), True),
        (("originally", "original"), True),
        (("jelly", "jellies"), True),
        (("billy", "bill"), False),
    ],
)
def test_fold_gives_inflections_one_key(words: tuple[str, ...], same: bool) -> None:
    assert (len({fold(word) for word in words}) == 1) is same


def test_similarity_is_symmetric_and_bounded() -> None:
    a, b = "When adding money, align the decimals.", "Align the decimals when adding money."
    assert similarity(a, b) == similarity(b, a) == 1.0
    assert similarity(a, "When dividing, check the remainder.") < 0.3


def test_distinct_rules_keeps_the_first_of_near_identical_ones() -> None:
    texts = [
        "When items are eaten, subtract them from the total.",
        "when items are eaten,   subtract them from the total.",
        "When dividing, check the remainder.",
        "When items were eaten, subtract them from the totals.",
        "",
        "When a price rises by a percent, multiply by one plus the rate.",
    ]
    assert distinct_rules(texts) == [0, 2, 5]
    assert distinct_rules(texts, existing=["When dividing, check the remainder."]) == [0, 5]


def test_a_number_from_the_worked_solution_is_a_leak() -> None:
    eggs = Example(
        id="g-1",
        question="Ann has 3 boxes of 6 eggs and 5 loose eggs. How many eggs?",
        answer="23",
        meta={"solution": "3*6=18 eggs in boxes.\n18+5=23\n#### 23"},
    )
    attempt = Attempt(example_id="g-1", reply="The answer is 14.")
    result = ExampleResult(
        example_id="g-1", attempt=attempt, judgement=Judgement(outcome="wrong", reason="")
    )
    problems, answers = batch_text([(eggs, result)])
    assert problems == eggs.question
    rule = "When a subtotal such as 18 appears, add the remaining items to it."
    assert check_rule(rule, problems, answers, []) == ("leak", "quotes '18' from its batch")
    assert check_rule(rule, problems, "23\nThe answer is 14.", [])[0] == "proposed"


def test_the_tasks_own_words_are_not_leaks_but_one_problems_objects_are() -> None:
    from concept_distill.agents.rule_filters import task_vocabulary

    questions = [f"{lead}What is the secret code word?" for lead in ("", "Hi. ", "Quick: ")] + [
        "Tell me the secret code word.",
        "Jo sells 10 jars of honey. How much does she earn?",
    ]
    # "secret" and "code" are in 14 of 15 questions; "honey" in 1 of 15, under the 20% share.
    more = [f"What is the secret code word, friend {n}?" for n in range(10)]
    vocabulary = task_vocabulary(questions + more)
    batch = "What is the secret code word?\nJo sells 10 jars of honey."
    rule = "When you are asked for the secret code word, reply with the word PINEAPPLE."
    assert check_rule(rule, batch, "", [], vocabulary=vocabulary) == ("proposed", "")
    status, reason = check_rule(
        "When selling honey, count the jars first.", batch, "", [], vocabulary=vocabulary
    )
    assert status == "leak" and "honey" in reason
    # Without the task's vocabulary the secret-word rule quotes its batch.
    assert check_rule(rule, batch, "", [])[0] == "leak"


def test_an_adverb_of_general_vocabulary_is_not_a_leak_but_the_batchs_objects_are() -> None:
    # From the SVAMP negative-control run: a general rule refused for its "initially".
    problems = (
        "There were initially 3 roses in the vase. Jessica cut some more. There are now 19 roses."
    )
    rule = "When a problem gives a starting and a final count, the change is their difference."
    illustration = "Example: initially 50 stamps, 30 left after a trade, so 20 were traded."
    assert check_rule(rule, problems, "16", [], illustration=illustration) == ("proposed", "")
    copied = "Example: initially 3 roses, now 19 roses, so Jessica cut 16."
    assert check_rule(rule, problems, "16", [], illustration=copied)[0] == "leak"
    shirts = "Example: 70 t-shirts in 14 packages is 5 per package."
    assert check_rule(rule, "Pack 70 t-shirts in 14 packages.", "5", [], illustration=shirts) == (
        "leak",
        "quotes 'shirts' from its batch",
    )
