"""`POST /kommune` on `/ich`: one's municipality, read against the regions' directory as
`!kommune` reads it, recorded with every registration from then on."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, WebFace
from rules.municipalities import MAX_MUNICIPALITY
from rules.voice import Voice
from services.municipalities import set_municipality, typed_municipality

BACK = "/ich#kommune"


def routes(face: WebFace) -> list[web.RouteDef]:
    async def set_own(request: web.Request) -> web.StreamResponse:
        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            typed = " ".join(fields.get("kommune", "").split())[:MAX_MUNICIPALITY]
            if not typed:
                return say.t("web.note_municipality_missing").plain
            name, listed = typed_municipality(act, typed, "")
            found = await set_municipality(act, s, name, listed)
            if not found.listed:
                return say.t("municipalities.set_unlisted", name=found.name).plain
            regions = f" {say.t('municipalities.and').plain} ".join(found.regions)
            return say.t("municipalities.set", name=found.name, regions=regions).plain

        return await face.submit(request, work, BACK)

    return [web.post("/kommune", set_own)]
