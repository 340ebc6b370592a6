"""The registration forms: `POST /termin/<N>/anmelden`, `POST /termin/<N>/abmelden` and
`POST /reihe/<N>/anmelden`. Each calls the same use case as `!anmelden` and `!abmelden` (same
rules, same outbox: the announcement is updated, whoever moves up is told), then leads back to
the page the form was on, which says what happened."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.acting import Acting
from bot.web_face import Refused, WebFace, page, see_other
from rules.errors import UserError
from rules.i18n import Message
from rules.personal_page import Link, message_page
from rules.series import series_ref
from rules.sessions import about
from rules.voice import Voice
from services.leaving import Leaving, LeavingOutcome, leave
from services.registration import EnrolmentOutcome, Registered, SeriesRegistered, register, register_series

log = logging.getLogger(__name__)

# Pages a form may lead back to (its field `weiter`), by name.
BACK = {"ich": "/ich", "widget": "/widget"}
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
Said = Callable[[Voice], Message]  # what the next page says about the outcome


def registered_note(outcome: Registered, days: int) -> Said:
    enrolment = outcome.enrolment
    session = enrolment.session

    def said(voice: Voice) -> Message:
        when = voice.when(session.starts_at, session.ends_at)
        note = voice.t(ENROLMENT_NOTES[enrolment.outcome], **about(session), when=when, position=enrolment.position)
        return with_privacy_notice(voice, note, outcome, days)

    return said


def series_note(outcome: SeriesRegistered, days: int) -> Said:
    def said(voice: Voice) -> Message:
        parts = [
            voice.t(
                "series.outcome",
                **about(e.session),
                date=voice.short(e.session.starts_at),
                outcome=voice.t(PART_NOTES[e.outcome], position=e.position),
            )
            for e in outcome.enrolments
        ]
        head = voice.t("series.registered_head", ref=series_ref(outcome.series.id), title=outcome.series.title)
        return with_privacy_notice(voice, Message.join([head, *parts], " "), outcome, days)

    return said


def left_note(left: Leaving) -> Said:
    return lambda voice: voice.t(LEAVING_NOTES[left.outcome], **about(left.session))


def with_privacy_notice(voice: Voice, note: Message, outcome: Registered | SeriesRegistered, days: int) -> Message:
    """The note, with the privacy notice after it on a person's first registration."""
    if not outcome.privacy_notice:
        return note
    return Message.join([note, voice.t("web.privacy_notice", days=days)], " ")


def routes(face: WebFace) -> list[web.RouteDef]:
    def form(
        work: Callable[[Acting, AsyncSession, int], Awaitable[Said]],
    ) -> Callable[..., Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            voice = face.voice(request)
            try:
                visitor, fields = await face.form(request)
            except Refused as refused:
                return refusal(voice, refused)
            back = f"{face.web.root}{BACK.get(fields.get('weiter', ''), '/ich')}"
            number = int(request.match_info["number"])
            try:
                said = await face.run(visitor, voice, lambda act, s: work(act, s, number))
            except UserError as error:
                face.refusal_note(visitor, voice, error)
            except Exception:
                reference = secrets.token_hex(3).upper()
                log.exception("web form %s failed (Ref. %s)", request.path, reference)
                face.note(visitor, voice.t("web.failed", reference=reference).plain)
            else:
                face.note(visitor, said(voice).plain)
            return see_other(back)

        return handle

    def refusal(voice: Voice, refused: Refused) -> web.StreamResponse:
        link = Link(f"{face.web.root}/programm", voice.t("web.back_to_programme").plain)
        body = message_page(voice, face.site(voice), "web.refused_title", [voice.t(refused.key).plain], link)
        return page(body, refused.status)

    async def enrol(act: Acting, s: AsyncSession, number: int) -> Said:
        return registered_note(await register(act, s, number, ""), act.config.retention_days)

    async def enrol_series(act: Acting, s: AsyncSession, number: int) -> Said:
        return series_note(await register_series(act, s, number, ""), act.config.retention_days)

    async def unenrol(act: Acting, s: AsyncSession, number: int) -> Said:
        return left_note(await leave(act, s, number))

    number = "{number:[0-9]{1,9}}"
    return [
        web.post(f"/termin/{number}/anmelden", form(enrol)),
        web.post(f"/termin/{number}/abmelden", form(unenrol)),
        web.post(f"/reihe/{number}/anmelden", form(enrol_series)),
    ]
