"""Topic wishes on `/ich`: `POST /wunsch/<N>/stimme` (a vote, like 👍 under the wish's post),
`POST /wunsch/neu` (a proposal, posted in the chosen official room; when open wishes look alike
nothing is posted and the page names them first, as in chat) and, for the coordinators of the
wish's room, `POST /wunsch/<N>/planen` (the wish becomes a session, as `!thema T<n> planen`)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, WebFace
from rules.i18n import Message
from rules.topics import MAX_TITLE, Proposal, topic_ref
from rules.voice import Voice
from services.topics import LookAlikes, Voted, plan, propose, vote

BACK = "/ich#wuensche"
VOTE_NOTES = {
    Voted.COUNTED: "web.note_voted",
    Voted.BEFORE: "web.note_voted_before",
    Voted.SETTLED: "web.note_vote_settled",
}
MAX_DESCRIPTION = 2000


def routes(face: WebFace) -> list[web.RouteDef]:
    async def give_vote(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            return say.t(VOTE_NOTES[await vote(act, s, number)], ref=topic_ref(number)).plain

        return await face.submit(request, work, BACK)

    async def new_wish(request: web.Request) -> web.StreamResponse:
        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            title = " ".join(fields.get("titel", "").split())[:MAX_TITLE]
            description = fields.get("text", "").strip()[:MAX_DESCRIPTION] or None
            if not title:
                return say.t("web.note_wish_title_missing").plain
            proposal = Proposal(title, description, insist=fields.get("trotzdem") == "ja")
            outcome = await propose(act, s, proposal, fields.get("raum") or None)
            if isinstance(outcome, LookAlikes):
                lines = [say.t("topics.alike_head")]
                lines += [
                    say.t("web.alike_line", ref=topic_ref(x.topic.id), title=x.topic.title) for x in outcome.alike
                ]
                return Message.join([*lines, say.t("web.alike_foot")], " ").plain
            return say.t("web.note_proposed", ref=topic_ref(outcome.wish.id), title=outcome.wish.title).plain

        return await face.submit(request, work, BACK)

    async def plan_wish(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            planned = await plan(act, s, number, " ".join(fields.get("wann", "").split())[:MAX_DESCRIPTION])
            return say.t("topics.planned", ref=topic_ref(planned.wish.id), count=planned.told).plain

        return await face.submit(request, work, BACK)

    number = "{number:[0-9]{1,9}}"
    return [
        web.post(f"/wunsch/{number}/stimme", give_vote),
        web.post(f"/wunsch/{number}/planen", plan_wish),
        web.post("/wunsch/neu", new_wish),
    ]
