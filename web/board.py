"""The cooperation board on `/ich`: an offer or a need of one's municipality (`POST /brett/neu`,
the category from the configured list), getting in touch about an entry
(`POST /brett/<N>/kontakt`) and the state of one's own entries (`POST /brett/<N>/stand`) — each
the use case of `!biete`/`!suche`, `!kontakt` and `!eintrag`."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, WebFace
from rules.board import Draft, EntryKind, EntryState, entry_ref, state_text
from rules.errors import UserError
from rules.voice import Voice
from services import board

BACK = "/ich#brett"
KINDS = {"angebot": EntryKind.OFFER, "gesuch": EntryKind.NEED}
# The states an author may give an entry here (as `!eintrag A<n> …`).
STATES = {state.value: state for state in (EntryState.OPEN, EntryState.AGREED, EntryState.DONE, EntryState.WITHDRAWN)}
MAX_TEXT = 4000  # characters taken from a field; the use case refuses what a card cannot show


def routes(face: WebFace) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.StreamResponse:
        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            kind = KINDS.get(fields.get("art", ""))
            if kind is None:
                raise UserError("board.usage")
            text = fields.get("text", "").strip()[:MAX_TEXT]
            draft = Draft(
                fields.get("kategorie", ""), " ".join(fields.get("titel", "").split())[:MAX_TEXT], text or None
            )
            created = await board.create(act, s, kind, draft)
            entry = created.entry
            return say.t(
                "web.note_entry_created",
                ref=entry_ref(entry.id),
                title=entry.title,
                until=say.short(entry.expires_at),
                matches=created.matches,
            ).plain

        return await face.submit(request, work, BACK)

    async def contact(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            entry = await board.contact(act, s, number)
            return say.t("board.contact_opened", **board.about(entry)).plain

        return await face.submit(request, work, BACK)

    async def set_state(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, fields: Fields, say: Voice) -> str:
            wanted = STATES.get(fields.get("stand", ""))
            if wanted is None:
                raise UserError("board.entry_usage")
            entry = await board.set_state(act, s, number, wanted)
            return say.t("board.state_changed", **board.about(entry), state=state_text(say, entry.state)).plain

        return await face.submit(request, work, BACK)

    number = "{number:[0-9]{1,9}}"
    return [
        web.post("/brett/neu", create),
        web.post(f"/brett/{number}/kontakt", contact),
        web.post(f"/brett/{number}/stand", set_state),
    ]
