"""`POST /termin/<N>/bewertung` on `/ich`: one's rating of a past session (1–5 and a sentence),
stored as anonymously as in chat (`services.feedback.give_feedback`: a keyed hash, no name)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, WebFace
from rules.errors import UserError
from rules.feedback import MAX_SENTENCE, Answer
from rules.sessions import about
from rules.voice import Voice
from services.feedback import give_feedback

BACK = "/ich#bewerten"
RATINGS = {"1", "2", "3", "4", "5"}


def routes(face: WebFace) -> list[web.RouteDef]:
    async def rate(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            rating = fields.get("bewertung", "")
            if rating not in RATINGS:
                raise UserError("feedback.rating_missing")
            sentence = " ".join(fields.get("satz", "").split())
            if len(sentence) > MAX_SENTENCE:
                raise UserError("feedback.too_long", maximum=MAX_SENTENCE)
            session = await give_feedback(act, s, number, Answer(int(rating), sentence or None))
            return say.t("feedback.thanks", **about(session)).plain

        return await face.submit(request, work, BACK)

    return [web.post("/termin/{number:[0-9]{1,9}}/bewertung", rate)]
