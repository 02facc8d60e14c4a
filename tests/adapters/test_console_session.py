"""The console as a scripted (piped) session: what `press`, `react`, `as` and `advance` say,
how cards are drawn, and the limits on what a line may hold (issues 14 and 15)."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

from rich.console import Console

from adapters.console import ConsolePlatform, ConsoleSession
from bot.app import build_app
from bot.config import Settings
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import migrated_sqlite, mini_bank

OPEN_ANSWER = "Overfitting is fitting noise, so the validation error grows while training falls."


async def _session(
    script: str,
    tmp_path: Path,
    *,
    items: tuple[Item, ...] | None = None,
    sim: bool = False,
    width: int = 110,
    colour: bool = False,
) -> str:
    """Everything the console printed for ``script`` piped in, on a fresh SQLite file."""
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        highlight=False,
        color_system="truecolor" if colour else None,
        force_terminal=colour,
    )
    platform = ConsolePlatform(console, files_dir=tmp_path / "files")
    clock = ManualClock() if sim else None
    driver = ManualDriver(clock) if clock else None
    app = await build_app(
        settings=Settings(database_url=migrated_sqlite(tmp_path / "c.db"), sync_seconds=0),
        platform=platform,
        items=mini_bank() if items is None else items,
        rng=random.Random(3),
        clock=clock,
        driver=driver,
    )
    try:
        await app.start()
        session = ConsoleSession(app, platform, io.StringIO(script), echo=True, sim=driver)
        assert await session.run() == 0
    finally:
        await app.close()
    return out.getvalue()


def _said(out: str) -> str:
    """The output with line breaks joined, so a wrapped sentence can be found whole."""
    return " ".join(out.split())


# ---- press ----------------------------------------------------------------------------


async def test_press_names_the_card_and_button_it_answered(tmp_path: Path) -> None:
    out = await _session("/drop now kind:choice\nas alice\npress 2\n", tmp_path)
    said = _said(out)
    assert "You pressed 2 (B) on m1, “Question drop #1 ·" in said
    assert "Locked in: B" in said
    assert "newest of" not in said  # one card with buttons: nothing to choose between


async def test_press_with_several_cards_uses_the_newest_and_says_so(tmp_path: Path) -> None:
    """A private /quiz after a drop: `press` answers the quiz (the newest), says that it did
    and how to reach the drop; `press N m1` then answers the drop."""
    script = "/drop now kind:choice\nas alice\n/quiz kind:choice\npress 1\npress 3 m1\n"
    out = await _session(script, tmp_path)
    said = _said(out)
    quiz = re.search(r"You pressed 1 \(A\) on (m\d+), “Your question", said)
    assert quiz is not None, said
    assert quiz.group(1) != "m1"
    assert "That is the newest of 2 cards with buttons; press 1 m1 presses the one before it." in (
        said
    )
    assert "You pressed 3 (C) on m1, “Question drop" in said
    assert "Locked in: C" in said


async def test_press_explains_a_wrong_number_or_card(tmp_path: Path) -> None:
    script = "press 1\n/drop now kind:choice\npress 9\npress ²\npress 1 m42\npress 1 2 3\n"
    said = _said(await _session(script, tmp_path))
    assert "No card with buttons yet. Try /quiz." in said
    assert said.count("Press a button by number, 1 to 4: press 1 (on m1, “Question drop") == 2
    assert "m42 is not a card with buttons you can see; those are m1." in said
    assert "Press one button: press 1, or on another card: press 1 m7." in said
    assert "Locked in" not in said


# ---- react ----------------------------------------------------------------------------

REVEALED_ANSWERS = (
    "/drop now kind:open\n"
    f"as alice\npress 1\n{OPEN_ANSWER}\n"
    f"as bob\npress 1 m1\nBias is error from wrong assumptions; variance from noise.\n"
    "as admin\n/reveal\n"
)


async def test_react_after_a_reveal_votes_for_the_newest_answer_one_can_vote_on(
    tmp_path: Path,
) -> None:
    """Carol's `react 👍` goes to the newest answer (bob's); bob's own skips his and goes to
    alice's; the vote counts on the board."""
    script = REVEALED_ANSWERS + "as carol\nreact 👍\nas bob\nreact 👍\n/leaderboard\n"
    out = await _session(script, tmp_path)
    said = _said(out)
    bob_answer = re.search(r"@bob's answer ─+╮", out)
    alice_answer = re.search(r"@alice's answer ─+╮", out)
    assert bob_answer and alice_answer
    ids = dict(re.findall(r"@(\w+)'s answer.*?thread m\d+ · (m\d+)", out, re.S))
    assert f"carol reacted 👍 to {ids['bob']}, “@bob's answer”." in said
    assert f"bob reacted 👍 to {ids['alice']}, “@alice's answer”." in said


async def test_react_without_an_answer_to_vote_on_asks_for_an_id(tmp_path: Path) -> None:
    before = "/drop now kind:choice\nreact 👍\n"
    own = f"/drop now kind:open\nas alice\npress 1\n{OPEN_ANSWER}\nas admin\n/reveal\n"
    out = await _session(before + "/reveal\n" + own + "as alice\nreact 👍\nreact 👎 m1\n", tmp_path)
    said = _said(out)
    assert (
        "There is no answer you can vote on yet (a reveal posts the open answers). To react to "
        "another message, give its id: react 👍 m7." in said
    )
    assert "The only answers here are your own, and a vote for yourself does not count." in said
    assert "alice reacted 👎 to m1, “Question drop" in said  # a rating, by id


async def test_react_explains_a_bad_emoji_or_message(tmp_path: Path) -> None:
    script = "/drop now kind:choice\nreact\nreact hello m1\nreact 👍 m99\nreact 👍 m1 m2\n"
    said = _said(await _session(script, tmp_path))
    assert said.count("React with an emoji: react 👍 votes for the newest answer") == 2
    assert "hello is not an emoji. React with one: react 👍 or react 👎 m7." in said
    assert "There is no message m99 that you can see." in said
    assert "reacted" not in said.replace("studybot reacted", "")


# ---- who you are ------------------------------------------------------------------------


async def test_only_the_exact_admin_name_is_admin(tmp_path: Path) -> None:
    """`as ad min` and `as admin!` are refused (they used to become `admin`); the member
    stays who they were, and an admin command is refused for them."""
    script = "as alice\nas ad min\n/drop now\nas admin!\n/drop now\nas Admin\n/drop now\n"
    said = _said(await _session(script, tmp_path))
    assert "ad min cannot be a member's name here: use one word of letters, digits" in said
    assert "admin! cannot be a member's name here" in said
    assert said.count("alice> /drop now") == 2
    assert said.count("/drop now is for admins") == 2
    assert "You are now Admin (admin)." in said
    assert "Posted drop #1" in said


# ---- simulated time ---------------------------------------------------------------------


async def test_advance_refuses_steps_out_of_range_and_says_the_range(tmp_path: Path) -> None:
    huge = "9" * 3990
    script = (
        "advance 99999999999d\nadvance 32d\nadvance 0m\nadvance soon\n"
        f"advance {huge}d\nadvance 3m\nadvance 20d\n"
    )
    said = _said(await _session(script, tmp_path, sim=True))
    allowed = "advance by 1 minute to 31 days at a time"
    assert f"99999999999d is too far: {allowed}" in said
    assert f"32d is too far: {allowed}" in said
    assert f"0m does not move time: {allowed}" in said
    assert f"soon is not a time step: {allowed}" in said
    assert said.count("is too far") == 3
    assert said.count("timed jobs ran; now") == 2  # 3m and 20d are within range
    assert "Mon 05 Jan 2026 09:03 UTC" in said
    assert "Sun 25 Jan 2026 09:03 UTC" in said


async def test_advance_reports_jobs_in_plain_words(tmp_path: Path) -> None:
    script = "/schedule add daily 09:30 topic:evaluation kind:choice\nadvance 1h\nadvance next\n"
    said = _said(await _session(script, tmp_path, sim=True))
    assert "⏩ 1 timed job ran; now Mon 05 Jan 2026 10:00 UTC." in said
    assert "timed job(s)" not in said


# ---- limits on a line ---------------------------------------------------------------------


async def test_a_megabyte_line_is_refused_and_the_session_goes_on(tmp_path: Path) -> None:
    """A 1 MB command line is refused by length (shlex never sees it), and so is a 1 MB form
    answer, which is asked for again; the next lines work."""
    long_line = "/quiz " + "x" * 1_000_000
    script = (
        f"{long_line}\n/drop now kind:open\nas alice\npress 1\n{'y' * 1_000_000}\n"
        f"{OPEN_ANSWER}\n/ping\n"
    )
    said = _said(await _session(script, tmp_path))
    assert (
        "That line has 1,000,006 characters; the console reads at most 4,000 per line, so "
        "nothing was done." in said
    )
    assert "admin> <a line of 1,000,006 characters>" in said
    assert "“Your answer” takes at most 1,500 characters; that was 1,000,000. Type it again" in said
    assert "Saved your answer" in said
    assert "Pong" in said


async def test_a_pack_path_that_is_missing_or_not_a_pack_is_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a pack")
    script = (
        f"/questions import {tmp_path / 'nope.yaml'}\n/questions import {notes}\n"
        f"/questions import file:{tmp_path / 'nope.csv'}\n"
    )
    said = _said(await _session(script, tmp_path))
    assert f"{tmp_path / 'nope.yaml'}: no such file. Check the path." in said
    assert "notes.txt is not a pack: packs are .yaml, .yml or .csv files" in said
    assert f"{tmp_path / 'nope.csv'}: no such file." in said
    assert "Imported" not in said


# ---- rendering ------------------------------------------------------------------------------


def _code_items() -> tuple[Item, ...]:
    return tuple(i for i in load_bank() if "```" in i.prompt and i.kind == "choice")[:1]


async def test_code_blocks_render_as_code(tmp_path: Path) -> None:
    """A question with a fenced code block: no fence marks on screen, the code's lines whole,
    in order and indented under the prose, and (on a colour terminal) highlighted."""
    items = _code_items()
    assert items, "the shipped bank has a question with a code block"
    prompt = items[0].prompt
    code = prompt.split("```", 2)[1].split("\n", 1)[1].strip("\n").splitlines()
    out = await _session("/drop now\n", tmp_path, items=items, width=140)
    assert "```" not in out
    card = out.split("Question drop", 1)[1]
    rows = [row.strip("│").rstrip() for row in card.splitlines()]
    first = next(i for i, row in enumerate(rows) if row.strip() == code[0].strip())
    prose_indent = len(rows[1]) - len(rows[1].lstrip())
    for offset, line in enumerate(code):
        row = rows[first + offset]
        assert row.strip() == line.strip()
        if line.strip():
            assert len(row) - len(row.lstrip()) - (len(line) - len(line.lstrip())) >= (
                prose_indent + 2
            )
    coloured = await _session("/drop now\n", tmp_path / "colour", items=items, colour=True)
    keyword_line = next(line for line in code if line.startswith(("import", "from")))
    word = keyword_line.split()[0]
    assert re.search(rf"\x1b\[[0-9;]*m{word}\x1b\[0m", coloured), "the keyword is highlighted"


async def test_a_long_title_is_cut_at_a_word_with_an_ellipsis(tmp_path: Path) -> None:
    """On a narrow terminal the reveal's title (the key option's whole text) ends with an
    ellipsis after a whole word."""
    (tmp_path / "wide").mkdir()
    wide = await _session("/drop now kind:choice\n/reveal\n", tmp_path / "wide", width=200)
    full = re.search(r"╭─ (Answer to drop #1: .+?) ─+╮", wide)
    assert full is not None
    narrow = await _session("/drop now kind:choice\n/reveal\n", tmp_path, width=44)
    cut = re.search(r"╭─ (Answer to drop #1: .+?) ─+╮", narrow)
    assert cut is not None
    title, shown = full.group(1), cut.group(1)
    assert shown.endswith("…") and len(shown) <= 44 - 6
    kept = shown.removesuffix("…")
    assert title.startswith(kept)
    assert title[len(kept)] in " ,.:", f"{kept!r} is cut inside a word of {title!r}"


async def test_a_mock_groups_private_space_is_named_after_its_members(tmp_path: Path) -> None:
    """`/mock round now` opens a private group per pair; the console names its channel after
    the members (it used to be the sorted characters of their names)."""
    join = "as {name}\n/mock join\nmid\ntechnical\nEurope/Berlin\nweekday evenings\nweekly\n"
    script = "".join(join.format(name=n) for n in ("ann", "ben", "cat", "dan"))
    out = await _session(script + "as admin\n/mock round now\n", tmp_path, items=load_bank())
    groups = re.findall(
        r"\(private group for ([a-z, ]+): Mock interview: ([a-z &]+), channel #([a-z-]+)\)",
        _said(out),
    )
    assert len(groups) == 2, _said(out)[-2000:]
    for members, title, channel in groups:
        names = members.split(", ")
        assert channel == "group-" + "-".join(sorted(names))
        assert sorted(title.split(" & ")) == sorted(names)
