"""Topic wishes in chat: `!thema` (propose, show, offer to talk, plan, close), `!themen` (the
ranking), 👍 on a wish's post to vote and taking it back. The use cases are `services.topics`."""

from __future__ import annotations

from bot.context import Context
from rules.i18n import Message
from rules.sessions import created_message, ref
from rules.states import TopicStatus
from rules.topics import Act, Proposal, TopicAction, parse_topic, permalink, topic_ref, wish_post
from services import topics
from storage.models import Topic, TopicVote
from storage.rows import row_id
from storage.topics import TopicVotes

STATUS = {
    TopicStatus.OPEN: "topics.status_open",
    TopicStatus.PLANNED: "topics.status_planned",
    TopicStatus.CLOSED: "topics.status_closed",
}


async def topic(ctx: Context, text: str) -> None:
    parsed = parse_topic(text)
    if isinstance(parsed, Proposal):
        await propose(ctx, parsed)
        return
    actions = {
        TopicAction.SHOW: show,
        TopicAction.OFFER: offer,
        TopicAction.PLAN: plan,
        TopicAction.CLOSE: close,
    }
    await actions[parsed.action](ctx, parsed)


async def propose(ctx: Context, proposal: Proposal) -> None:
    """Post the wish for voting, unless it looks like an open one (then point there first)."""
    async with ctx.join_batch() as s:
        outcome = await topics.propose(ctx, s, proposal)
    if isinstance(outcome, topics.LookAlikes):
        lines = [ctx.t("topics.alike_head")]
        lines += [alike_line(ctx, item) for item in outcome.alike]
        lines.append(ctx.t("topics.alike_foot", title=outcome.title))
        await ctx.reply(Message.join(lines))
        return
    await ctx.reply("topics.proposed", ref=topic_ref(outcome.wish.id))


def alike_line(ctx: Context, item: TopicVotes) -> Message:
    wish = item.topic
    where = ctx.t("topics.alike_link", url=permalink(wish.room_id, wish.event_id)) if wish.event_id else ""
    return ctx.t("topics.alike_line", ref=topic_ref(wish.id), title=wish.title, votes=item.votes, where=where)


async def show(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        found = await topics.show(ctx, s, act.number)
    wish = found.wish
    status = ctx.t(
        STATUS[TopicStatus(wish.status)], votes=found.votes, offers=found.offers, session=ref(wish.session_id)
    )
    await ctx.reply(wish_post(ctx, wish.id, wish.title, wish.description, status))


async def offer(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        found = await topics.offer(ctx, s, act.number)
    key = "topics.offered" if found.new else "topics.offered_before"
    await ctx.reply(key, ref=topic_ref(found.wish.id), title=found.wish.title)


async def plan(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        planned = await topics.plan(ctx, s, act.number, act.rest)
    done = ctx.t("topics.planned", ref=topic_ref(planned.wish.id), count=planned.told)
    await ctx.reply(Message.join([created_message(ctx, planned.session), done]))


async def close(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        wish = await topics.close(ctx, s, act.number, act.rest)
    await ctx.reply("topics.closed", ref=topic_ref(wish.id), title=wish.title)


async def list_topics(ctx: Context) -> None:
    """Open wishes ranked by votes, with how many offered a talk; a coordinator also gets, by
    direct message, who offered (names never go to a shared room)."""
    async with ctx.join_batch() as s:
        found = await topics.ranking(ctx, s)
    if not found.ranked:
        await ctx.reply("topics.none")
        return
    lines = [ctx.t("topics.list_head")]
    for item in found.ranked:
        wish = item.topic
        count = found.offers.get(row_id(wish), 0)
        speakers = ctx.t("topics.list_offers", count=count) if count else ""
        lines.append(
            ctx.t("topics.list_line", ref=topic_ref(wish.id), votes=item.votes, title=wish.title, offers=speakers)
        )
    lines.append(ctx.t("topics.list_foot"))
    await ctx.reply(Message.join(lines))
    if found.speakers:
        named = [ctx.t("topics.offers_head")]
        named += [
            ctx.t("topics.offers_line", ref=topic_ref(wish.id), title=wish.title, person=person)
            for wish, person in found.speakers
        ]
        ctx.tell(ctx.sender, Message.join(named))


async def vote(ctx: Context, wish: Topic) -> None:
    """A 👍 on a wish's post counts once per person, the proposer's own too (silently)."""
    async with ctx.join_batch() as s:
        await topics.vote(ctx, s, row_id(wish), reaction=ctx.event_id)


async def withdraw_vote(ctx: Context, found: TopicVote) -> None:
    """Taking the 👍 back withdraws the vote while the wish is open (silently)."""
    if found.user_id == ctx.sender:
        async with ctx.join_batch() as s:
            await topics.withdraw_vote(ctx, s, found.topic_id)
