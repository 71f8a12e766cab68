"""Follow-up questions over real HTTP: private context, replies in groups, /new."""

from __future__ import annotations

from bot.telegram import render
from retrieval.engine import Engine
from tests.support.telegram.botapi_standin import BotApiStandIn, Request
from tests.support.telegram.harness import (
    ALICE,
    BOB,
    GROUP,
    RunningBot,
    assert_quoted_and_cited,
    text_of,
    visible,
)
from tests.support.telegram.updates import JSONDict, User, mention_entity

FIRST = "Which forces recaptured six districts of eastern Mosul?"
FOLLOW_UP = "When did they do that?"
OTHER = "Who opened the meeting on Mosul held in France?"


def _note(question: str) -> str:
    return render.CONTEXT_NOTE.format(question=question)


def _titles(engine: Engine) -> set[str]:
    return {doc.source.title or doc.source.id for doc in engine.sources()}


def _answers_the_follow_up(reply: Request, engine: Engine) -> None:
    """The follow-up's reply names its context and quotes the Peshmerga's Friday."""
    shown = visible(text_of(reply))
    assert shown.startswith(_note(FIRST))
    top = assert_quoted_and_cited(text_of(reply), _titles(engine))[0]
    assert "Peshmerga" in top and "Friday" in top


def _alone(engine: Engine, question: str) -> str:
    """The reply's visible text when ``question`` is asked with no context."""
    return "\n\n".join(visible(c.html) for c in render.answer_chunks(engine.answer(question)))


async def test_private_follow_ups_lean_on_the_last_answer(
    standin: BotApiStandIn, bot: RunningBot, seeds_engine: Engine
) -> None:
    """A private chat: each follow-up leans on the last answer, and the reply says which.

    "More" keeps that context; other chats have none.
    """
    chain = [
        "When did the SDF break into Raqqa?",
        "How many militants are fighting there?",
        "Who said that?",  # alone: declined
    ]
    replies = []
    for question in chain:
        replies.append(await standin.reply_to(standin.send(ALICE, question)))
    first, second, third = (visible(text_of(r)) for r in replies)
    assert "June 6" in first and render.CONTEXT_NOTE.split("“")[0] not in first
    assert second.startswith(_note(chain[0])) and "2,500" in second
    assert third.startswith(_note(chain[1]))
    top = assert_quoted_and_cited(text_of(replies[2]), _titles(seeds_engine))[0]
    assert "Rupert Jones" in top
    assert not seeds_engine.answer(chain[2]).answered

    more = standin.buttons(replies[2]).get("More quotes ▸")
    if more is not None:
        standin.press(ALICE, standin.message_of(replies[2]), more)
        following = await standin.reply_to(standin.message_of(replies[2]))
        assert visible(text_of(following)).startswith(_note(chain[1]))

    bob = await standin.reply_to(standin.send(BOB, chain[2]))  # Bob's chat has no context
    assert visible(text_of(bob)) == _alone(seeds_engine, chain[2])


async def test_a_question_naming_its_own_subject_starts_afresh(
    standin: BotApiStandIn, bot: RunningBot, seeds_engine: Engine
) -> None:
    """A question with names of its own is answered on its own, though a context is kept."""
    await standin.reply_to(standin.send(ALICE, FIRST))
    own = "What did Donald Trump say about the victory?"
    reply = await standin.reply_to(standin.send(ALICE, own))
    assert visible(text_of(reply)) == _alone(seeds_engine, own)


async def test_new_forgets_the_context(
    standin: BotApiStandIn, bot: RunningBot, seeds_engine: Engine
) -> None:
    """/new starts afresh: the same follow-up is then answered on its own."""
    await standin.reply_to(standin.send(ALICE, FIRST))
    cleared = await standin.reply_to(standin.send(ALICE, "/new"))
    assert visible(text_of(cleared)) == render.STARTED_AFRESH
    reply = await standin.reply_to(standin.send(ALICE, FOLLOW_UP))
    assert visible(text_of(reply)) == _alone(seeds_engine, FOLLOW_UP)


async def test_group_reply_follow_up_leans_on_the_answer_replied_to(
    standin: BotApiStandIn, bot: RunningBot, seeds_engine: Engine
) -> None:
    """A group: a reply to one of the bot's answers leans on that answer's question.

    Not on the group's latest; a mention alone takes none; /new forgets the group's answers.
    """
    mention = f"@{standin.username}"

    def ask(sender: User, question: str) -> JSONDict:
        text = f"{mention} {question}"
        return standin.send(sender, text, chat=GROUP, entities=[mention_entity(text, mention)])

    first = await standin.reply_to(ask(ALICE, FIRST))
    await standin.reply_to(ask(BOB, OTHER))  # the group's latest answer is now Bob's

    replying = standin.send(BOB, FOLLOW_UP, chat=GROUP, reply_to=standin.message_of(first))
    reply = await standin.reply_to(replying)
    _answers_the_follow_up(reply, seeds_engine)

    mentioned = await standin.reply_to(ask(ALICE, FOLLOW_UP))
    assert visible(text_of(mentioned)) == _alone(seeds_engine, FOLLOW_UP)

    cleared = await standin.reply_to(standin.send(ALICE, "/new", chat=GROUP))
    assert visible(text_of(cleared)) == render.STARTED_AFRESH
    again = standin.send(ALICE, FOLLOW_UP, chat=GROUP, reply_to=standin.message_of(first))
    assert visible(text_of(await standin.reply_to(again))) == _alone(seeds_engine, FOLLOW_UP)


async def test_new_is_registered_and_in_help(standin: BotApiStandIn, bot: RunningBot) -> None:
    """/new is among the commands Telegram shows, and /help explains follow-ups."""
    await standin.wait_for(lambda: standin.calls("setMyCommands"))
    registered = [c["command"] for c in standin.calls("setMyCommands")[0].params["commands"]]
    assert "new" in registered
    shown = visible(text_of(await standin.reply_to(standin.send(ALICE, "/help"))))
    assert "/new" in shown and "follow-up" in shown.lower()
