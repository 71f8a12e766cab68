"""End to end: groups (mention, reply, /ask), inline mode, allow-lists, rate limit, /reindex."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.telegram import render
from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import (
    ADMIN,
    ALICE,
    BOB,
    GROUP,
    OFF_TOPIC_QUESTION,
    SEED_QUESTION,
    SEEDS_DIR,
    BotFactory,
    RunningBot,
    quotes_in,
    seed_texts,
    text_of,
    visible,
)
from tests.support.telegram.updates import mention_entity


async def test_group_answers_only_when_addressed(standin: BotApiStandIn, bot: RunningBot) -> None:
    """In a group: chatter is ignored; a mention, a reply to the bot and /ask are answered."""
    mention = f"@{standin.username}"
    standin.send(ALICE, "Has anyone read the Mosul articles?", chat=GROUP)
    standin.send(BOB, "/ask@some_other_bot who won?", chat=GROUP)
    text = f"{mention} who declared victory in Mosul?"
    mentioned = standin.send(ALICE, text, chat=GROUP, entities=[mention_entity(text, mention)])
    answer = await standin.reply_to(mentioned)
    assert quotes_in(text_of(answer))

    follow_up = standin.send(
        BOB, "And what did Amnesty say?", chat=GROUP, reply_to=standin.message_of(answer)
    )
    assert quotes_in(text_of(await standin.reply_to(follow_up)))
    asked = standin.send(BOB, f"/ask {SEED_QUESTION}", chat=GROUP)
    assert quotes_in(text_of(await standin.reply_to(asked)))
    await standin.settle()

    assert len(standin.sent_to(GROUP["id"])) == 3  # the chatter and the other bot's /ask: nothing


async def test_group_mention_without_question_gets_a_hint(
    standin: BotApiStandIn, bot: RunningBot
) -> None:
    """A bare mention or a bare /ask gets told how to ask, not an error."""
    mention = f"@{standin.username}"
    bare = standin.send(ALICE, mention, chat=GROUP, entities=[mention_entity(mention, mention)])
    hint = await standin.reply_to(bare)
    assert visible(text_of(hint)) == render.EMPTY_MENTION.format(bot=standin.username)
    ask = standin.send(ALICE, "/ask", chat=GROUP)
    assert visible(text_of(await standin.reply_to(ask))) == render.ASK_USAGE


async def test_inline_query_offers_quotes(standin: BotApiStandIn, bot: RunningBot) -> None:
    """Inline mode: the top quotes as results, each inserting the quote with its citation."""
    ids = [standin.inline(ALICE, q) for q in ("Amnesty Mosul civilians", "ab", OFF_TOPIC_QUESTION)]
    await standin.wait_for(lambda: len(standin.calls("answerInlineQuery")) == 3)
    by_query = {c.params["inline_query_id"]: c for c in standin.calls("answerInlineQuery")}
    found, short, off_topic = (by_query[query_id] for query_id in ids)

    results = found.params["results"]
    assert results
    sources = seed_texts()
    for result in results:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        (quote,) = quotes_in(content["message_text"])
        assert any(quote in text for text in sources.values())
        assert result["description"] in visible(content["message_text"])
        assert len(result["id"].encode()) <= 64
    assert short.params["results"] == [] and short.params["button"]["text"] == render.INLINE_HINT
    assert off_topic.params["results"] == []
    assert off_topic.params["button"]["text"] == render.INLINE_NOT_FOUND


async def test_allow_list_refuses_others_politely(
    standin: BotApiStandIn, start_bot: BotFactory
) -> None:
    """With an allow-list, others get one polite refusal and nothing else; Alice is answered."""
    await start_bot(allowed_user_ids=frozenset({ALICE.id}))
    refused = standin.send(BOB, SEED_QUESTION)
    refusal = await standin.reply_to(refused)
    allowed = standin.send(ALICE, SEED_QUESTION)
    answer = await standin.reply_to(allowed)
    standin.press(BOB, standin.message_of(answer), standin.buttons(answer)["More quotes ▸"])
    standin.inline(BOB, "Amnesty Mosul")
    text = f"@{standin.username} who won?"
    standin.send(BOB, "just chatting", chat=GROUP)
    mentioned = standin.send(
        BOB, text, chat=GROUP, entities=[mention_entity(text, text.split()[0])]
    )
    await standin.reply_to(mentioned)
    await standin.settle()

    assert text_of(refusal) == render.REFUSED
    assert quotes_in(text_of(answer))
    assert len(standin.sent_to(BOB.id)) == 1  # the refusal only
    typing_chats = [c.params["chat_id"] for c in standin.calls("sendChatAction")]
    assert typing_chats == [ALICE.id]
    (pressed,) = standin.calls("answerCallbackQuery")
    assert pressed.params["text"] == render.REFUSED and pressed.params["show_alert"] is True
    (inline,) = standin.calls("answerInlineQuery")
    assert inline.params["results"] == [] and inline.params["button"]["text"] == render.REFUSED
    assert [text_of(r) for r in standin.sent_to(GROUP["id"])] == [render.REFUSED]
    assert standin.calls("editMessageReplyMarkup") == []


async def test_allowed_chat_lets_its_members_in(
    standin: BotApiStandIn, start_bot: BotFactory
) -> None:
    """A chat on the chat allow-list is served whoever writes there; the same user alone is not."""
    await start_bot(allowed_chat_ids=frozenset({GROUP["id"]}))
    asked = standin.send(BOB, f"/ask {SEED_QUESTION}", chat=GROUP)
    assert quotes_in(text_of(await standin.reply_to(asked)))
    private = standin.send(BOB, SEED_QUESTION)
    assert text_of(await standin.reply_to(private)) == render.REFUSED


async def test_rate_limit_per_user(standin: BotApiStandIn, start_bot: BotFactory) -> None:
    """Past the per-user budget a question gets "please wait"; other users are unaffected."""
    await start_bot(rate_limit_per_minute=2)
    asked = [standin.send(ALICE, SEED_QUESTION) for _ in range(3)]
    other = standin.send(BOB, SEED_QUESTION)
    replies = [await standin.reply_to(message) for message in [*asked, other]]
    texts = [visible(text_of(r)) for r in replies]
    assert texts.count(render.RATE_LIMITED) == 1
    assert render.RATE_LIMITED not in texts[3]


async def test_reindex_is_for_admins_and_picks_up_changes(
    standin: BotApiStandIn,
    start_bot: BotFactory,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    """/reindex: refused to non-admins; for an admin it picks up a new article without restart."""
    corpus, index_dir = tmp_path / "articles", tmp_path / "index"
    corpus.mkdir()
    for seed in sorted(SEEDS_DIR.glob("*.txt"))[:2]:  # a small corpus keeps the builds quick
        shutil.copy(seed, corpus)
    build_index(corpus, index_dir, engine_settings, encoder=encoder)
    engine = Engine.open(index_dir, engine_settings, encoder=encoder)
    await start_bot(engine=engine, corpus=corpus, index_dir=index_dir)
    question = "When does the Tigris ferry to the old city run?"
    before = standin.send(ALICE, question)
    assert render.NOT_FOUND in visible(text_of(await standin.reply_to(before)))

    (corpus / "zz_ferry.txt").write_text(
        "Tigris ferry resumes\n\nThe Tigris ferry to the old city runs every morning at "
        "seven o'clock, the river authority said on Monday.\n",
        encoding="utf-8",
    )
    refused = standin.send(ALICE, "/reindex")
    assert visible(text_of(await standin.reply_to(refused))) == render.NOT_ADMIN
    started = standin.send(ADMIN, "/reindex")
    await standin.wait_for(lambda: len(standin.replies_to(started)) == 2, timeout=120)
    done = visible(text_of(standin.replies_to(started)[1]))
    assert done.startswith("Reindexed: 3 articles")

    after = standin.send(ALICE, question)
    quotes = quotes_in(text_of(await standin.reply_to(after)))
    assert any("runs every morning at seven" in quote for quote in quotes)


async def test_questions_are_answered_while_a_reindex_runs(
    standin: BotApiStandIn, start_bot: BotFactory, monkeypatch
) -> None:
    """A /reindex takes a thread of its own: it never holds the threads answering questions."""
    import threading

    from bot.telegram import app
    from bot.telegram.services import Services

    release, entered = threading.Event(), threading.Event()

    def slow_rebuild(self: Services) -> Engine:
        # a rebuild that lasts until the questions below are answered (the engine is kept:
        # what is tested is where the rebuild runs, and the shared seeds index stays as it is)
        entered.set()
        release.wait(timeout=120)
        return self.engine

    monkeypatch.setattr(Services, "rebuild", slow_rebuild)
    # one answering thread: a rebuild holding it would stop every question
    monkeypatch.setattr(app, "answering_workers", lambda: 1)
    await start_bot()
    started = standin.send(ADMIN, "/reindex")
    await standin.wait_for(entered.is_set, timeout=60)
    try:
        asked = [standin.send(user, SEED_QUESTION) for user in (ALICE, BOB) for _ in range(2)]
        for message in asked:
            assert quotes_in(text_of(await standin.reply_to(message, timeout=60)))
    finally:
        release.set()
    await standin.wait_for(lambda: len(standin.replies_to(started)) == 2, timeout=120)
