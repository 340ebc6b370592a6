"""The registration forms: `POST /termin/<N>/anmelden`, `POST /termin/<N>/abmelden` and
`POST /reihe/<N>/anmelden`. Each calls the same use case as `!anmelden` and `!abmelden` (same
rules, same outbox: the announcement is updated, whoever moves up is told), then leads back to
the page the form was on (`/ich`, or the widget), which says what happened."""

from __future__ import annotations

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Fields, WebFace
from rules.i18n import Message
from rules.series import series_ref
from rules.sessions import about
from rules.voice import Voice
from services.leaving import LeavingOutcome, leave
from services.registration import EnrolmentOutcome, Registered, SeriesRegistered, register, register_series

ENROLMENT_NOTES = {
    EnrolmentOutcome.CONFIRMED: "web.note_registered",
    EnrolmentOutcome.WAITLISTED: "web.note_waitlisted",
    EnrolmentOutcome.ALREADY_REGISTERED: "web.note_already_registered",
    EnrolmentOutcome.ALREADY_WAITING: "web.note_already_waiting",
}
LEAVING_NOTES = {
    LeavingOutcome.CANCELLED: "web.note_cancelled",
    LeavingOutcome.LEFT_WAITLIST: "web.note_left_waitlist",
}
PART_NOTES = {
    EnrolmentOutcome.CONFIRMED: "series.outcome_confirmed",
    EnrolmentOutcome.WAITLISTED: "series.outcome_waitlisted",
    EnrolmentOutcome.ALREADY_REGISTERED: "series.outcome_already_registered",
    EnrolmentOutcome.ALREADY_WAITING: "series.outcome_already_waiting",
    EnrolmentOutcome.DEADLINE_PASSED: "series.outcome_deadline_passed",
}


def with_privacy_notice(say: Voice, note: Message, outcome: Registered | SeriesRegistered, days: int) -> str:
    """The note, with the privacy notice after it on a person's first registration."""
    if outcome.privacy_notice:
        note = Message.join([note, say.t("web.privacy_notice", days=days)], " ")
    return note.plain


def routes(face: WebFace) -> list[web.RouteDef]:
    async def enrol(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            outcome = await register(act, s, number, "")
            enrolment, session = outcome.enrolment, outcome.enrolment.session
            when = say.when(session.starts_at, session.ends_at)
            note = say.t(ENROLMENT_NOTES[enrolment.outcome], **about(session), when=when, position=enrolment.position)
            return with_privacy_notice(say, note, outcome, act.config.retention_days)

        return await face.submit(request, work)

    async def enrol_series(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            outcome = await register_series(act, s, number, "")
            parts = [
                say.t(
                    "series.outcome",
                    **about(e.session),
                    date=say.short(e.session.starts_at),
                    outcome=say.t(PART_NOTES[e.outcome], position=e.position),
                )
                for e in outcome.enrolments
            ]
            head = say.t("series.registered_head", ref=series_ref(outcome.series.id), title=outcome.series.title)
            return with_privacy_notice(say, Message.join([head, *parts], " "), outcome, act.config.retention_days)

        return await face.submit(request, work)

    async def unenrol(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["number"])

        async def work(act: Acting, s: AsyncSession, _: Fields, say: Voice) -> str:
            left = await leave(act, s, number)
            return say.t(LEAVING_NOTES[left.outcome], **about(left.session)).plain

        return await face.submit(request, work)

    number = "{number:[0-9]{1,9}}"
    return [
        web.post(f"/termin/{number}/anmelden", enrol),
        web.post(f"/termin/{number}/abmelden", unenrol),
        web.post(f"/reihe/{number}/anmelden", enrol_series),
    ]
