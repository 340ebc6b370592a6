"""Topic wishes: proposed in an official room and posted by the bot, voted for with 👍 (counted
like questions' votes), offers to give the input talk, the ranking, and a coordinator turning a
wish into a session (its voters are told by direct message) or closing it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import NOTICE_TTL
from bot.arguments import Rest
from bot.context import Context
from bot.roles import Role
from bot.routing import Router
from rules.cleaning import clean
from rules.content import edit_content, message_content
from rules.errors import UserError
from rules.i18n import Message
from rules.reactions import VOTES
from rules.sessions import about, created_message, ref
from rules.similarity import Candidate, look_alikes
from rules.states import TopicStatus
from rules.topics import Act, Proposal, TopicAction, parse_topic, topic_ref
from services.sessions import new_session
from storage import people, topics
from storage.models import TalkOffer, Topic, TopicVote
from storage.outbox import Outgoing
from storage.rows import row_id, save

router = Router("topics")
MAX_LISTED = 50


def permalink(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{room_id}/{event_id}"


def name_of(ctx: Context, room_id: str, user_id: str) -> str:
    """How a person is named for coordinators: display name and id."""
    shown = clean(ctx.rooms.display_name(room_id, user_id) or "")
    return f"{shown} ({user_id})" if shown and shown != user_id else user_id


@router.command(
    "thema",
    aliases=("topic",),
    help="help.topic",
    args=[Rest("text", "args.topic", missing="topics.usage")],
)
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
    if not ctx.official.is_official(ctx.room_id):
        raise UserError("topics.not_official")
    async with ctx.join_batch() as s:
        if not proposal.insist:
            existing = await topics.open_topics(s, ctx.scope())
            by_number = {row_id(x.topic): x for x in existing}
            alike = look_alikes(proposal.title, [Candidate(n, x.topic.title) for n, x in by_number.items()])
            if alike:
                lines = [ctx.t("topics.alike_head")]
                lines += [alike_line(ctx, by_number[c.number]) for c in alike]
                lines.append(ctx.t("topics.alike_foot", title=proposal.title))
                await ctx.reply(Message.join(lines))
                return
        wish = await topics.add_topic(
            s,
            Topic(
                title=proposal.title,
                description=proposal.description,
                room_id=ctx.room_id,
                region=ctx.official.region(ctx.room_id),
                proposed_by=ctx.sender,
                proposed_at=ctx.now,
            ),
        )
    ctx.post(
        ctx.room_id,
        wish_post(ctx, wish, ctx.t("topics.post_howto", ref=topic_ref(wish.id))),
        records=f"topic:{wish.id}",
    )
    await ctx.reply("topics.proposed", ref=topic_ref(wish.id))


def wish_post(ctx: Context, wish: Topic, footer: Message) -> Message:
    """The bot's post of a wish: title, description, and what to do (or what became of it)."""
    lines = [ctx.t("topics.post", ref=topic_ref(wish.id), title=wish.title)]
    if wish.description:
        lines.append(ctx.t("topics.post_description", text=wish.description))
    return Message.join([*lines, footer])


def settle_post(ctx: Context, wish: Topic, footer: Message) -> None:
    """Edit the wish's post to say it was planned or closed (no more votes count)."""
    if wish.event_id:
        content = edit_content(wish.event_id, message_content(wish_post(ctx, wish, footer), notice=False))
        ctx.queue(Outgoing(f"topic-settled:{wish.id}", content, room_id=wish.room_id), NOTICE_TTL)


def alike_line(ctx: Context, item: topics.TopicVotes) -> Message:
    wish = item.topic
    where = ctx.t("topics.alike_link", url=permalink(wish.room_id, wish.event_id)) if wish.event_id else ""
    return ctx.t("topics.alike_line", ref=topic_ref(wish.id), title=wish.title, votes=item.votes, where=where)


async def find_topic(s: AsyncSession, ctx: Context, number: int) -> Topic:
    """Wish T<number>, if it was proposed in a room the bot serves officially."""
    wish = await topics.topic_by_number(s, number)
    if wish is None or not ctx.official.is_official(wish.room_id):
        raise UserError("topics.unknown", ref=topic_ref(number))
    return wish


def require_coordinator(ctx: Context, wish: Topic) -> None:
    """Refuse unless the sender coordinates in the room the wish was proposed in."""
    if ctx.roles.in_room(wish.room_id, ctx.sender) < Role.COORDINATOR:
        raise UserError("topics.coordinators_only", ref=topic_ref(wish.id))


def require_open(ctx: Context, wish: Topic) -> None:
    if wish.status == TopicStatus.PLANNED:
        raise UserError("topics.already_planned", ref=topic_ref(wish.id), session=ref(wish.session_id))
    if wish.status != TopicStatus.OPEN:
        raise UserError("topics.already_closed", ref=topic_ref(wish.id))


async def show(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        wish = await find_topic(s, ctx, act.number)
        votes = await topics.vote_count(s, act.number)
        offers = len((await topics.speakers(s, [act.number])).get(act.number, []))
    status = ctx.t(f"topics.status_{wish.status}", votes=votes, offers=offers, session=ref(wish.session_id))
    await ctx.reply(wish_post(ctx, wish, status))


async def offer(ctx: Context, act: Act) -> None:
    """Note that the sender could give the input talk; the coordinators from the config are told
    privately (nobody else sees who offered)."""
    async with ctx.join_batch() as s:
        wish = await find_topic(s, ctx, act.number)
        require_open(ctx, wish)
        new = await topics.offer_talk(s, TalkOffer(topic_id=act.number, user_id=ctx.sender, offered_at=ctx.now))
    if new:
        coordinators = sorted(ctx.config.roles.coordinators - {ctx.sender})
        ctx.tell_each(
            coordinators,
            "topics.offer_notice",
            person=name_of(ctx, wish.room_id, ctx.sender),
            ref=topic_ref(wish.id),
            title=wish.title,
        )
    await ctx.reply("topics.offered" if new else "topics.offered_before", ref=topic_ref(wish.id), title=wish.title)


async def plan(ctx: Context, act: Act) -> None:
    """Turn a wish into a session (the fields of `!termin neu`, the wish's title unless another is
    given); everyone who voted for it or proposed it is told privately how to register."""
    if not act.rest:
        raise UserError("topics.plan_usage", ref=topic_ref(act.number))
    async with ctx.join_batch() as s:
        wish = await find_topic(s, ctx, act.number)
        require_coordinator(ctx, wish)
        require_open(ctx, wish)
        fields = f"Titel: {wish.title}\n{act.rest}" if "\n" in act.rest else f"{wish.title} | {act.rest}"
        session = await new_session(ctx, s, fields, wish.room_id)
        wish.status, wish.session_id, wish.closed_at = TopicStatus.PLANNED, session.number, ctx.now
        await save(s, wish)
        settle_post(ctx, wish, ctx.t("topics.post_planned", session=ref(session.id)))
        told = await topics.voters(s, act.number)
    told = [p for p in dict.fromkeys([*told, wish.proposed_by]) if p != people.FORGOTTEN]
    ctx.tell_each(
        told,
        "topics.planned_notice",
        topic=topic_ref(wish.id),
        **about(session),
        when=ctx.when(session.starts_at, session.ends_at),
    )
    await ctx.reply(
        Message.join([created_message(ctx, session), ctx.t("topics.planned", ref=topic_ref(wish.id), count=len(told))])
    )


async def close(ctx: Context, act: Act) -> None:
    async with ctx.join_batch() as s:
        wish = await find_topic(s, ctx, act.number)
        require_coordinator(ctx, wish)
        require_open(ctx, wish)
        wish.status, wish.close_reason, wish.closed_at = TopicStatus.CLOSED, act.rest or None, ctx.now
        await save(s, wish)
        settle_post(ctx, wish, ctx.t("topics.post_closed"))
    await ctx.reply("topics.closed", ref=topic_ref(wish.id), title=wish.title)


@router.command("themen", aliases=("topics",), help="help.topics")
async def list_topics(ctx: Context) -> None:
    """Open wishes ranked by votes, with how many offered a talk; a coordinator also gets, by
    direct message, who offered (names never go to a shared room)."""
    async with ctx.join_batch() as s:
        ranked = (await topics.open_topics(s, ctx.scope()))[:MAX_LISTED]
        offers = await topics.speakers(s, [row_id(x.topic) for x in ranked])
    if not ranked:
        await ctx.reply("topics.none")
        return
    lines = [ctx.t("topics.list_head")]
    for item in ranked:
        wish = item.topic
        count = len(offers.get(row_id(wish), []))
        speakers = ctx.t("topics.list_offers", count=count) if count else ""
        lines.append(
            ctx.t("topics.list_line", ref=topic_ref(wish.id), votes=item.votes, title=wish.title, offers=speakers)
        )
    lines.append(ctx.t("topics.list_foot"))
    await ctx.reply(Message.join(lines))
    if ctx.role >= Role.COORDINATOR and offers:
        named = [ctx.t("topics.offers_head")]
        for item in ranked:
            wish = item.topic
            for person in offers.get(row_id(wish), []):
                named.append(
                    ctx.t(
                        "topics.offers_line",
                        ref=topic_ref(wish.id),
                        title=wish.title,
                        person=name_of(ctx, wish.room_id, person),
                    )
                )
        ctx.tell(ctx.sender, Message.join(named))


@router.reaction(VOTES, on=topics.topic_by_event)
async def vote(ctx: Context, wish: Topic) -> None:
    """A 👍 on a wish's post counts once per person, the proposer's own too (silently)."""
    async with ctx.join_batch() as s:
        await topics.count_vote(
            s,
            wish,
            TopicVote(topic_id=row_id(wish), user_id=ctx.sender, reaction_event_id=ctx.event_id, voted_at=ctx.now),
        )


@router.redaction(on=topics.vote_by_reaction)
async def withdraw_vote(ctx: Context, found: TopicVote) -> None:
    """Taking the 👍 back withdraws the vote while the wish is open (silently)."""
    if found.user_id == ctx.sender:
        async with ctx.join_batch() as s:
            await topics.withdraw_vote(s, found)
