"""The chat face's routes, all in one place: every command's words, arguments, role and help text,
and the reactions, redactions and messages in threads the bot takes, each with the function that
handles it. A handler module is imported when the first event is routed to it (`Router.later`), so
the bot starts without the code, the use cases and the rules of commands nobody has used yet.

`tests/unit/test_routes.py` resolves every route: each names a function that exists and takes the
declared arguments.
"""

from __future__ import annotations

from bot.arguments import Choice, EntryRef, Flag, Link, Number, Rest, SessionOrSeries, SessionRef
from bot.roles import Role
from bot.rooms import BOTH
from bot.routing import Router
from rules.board import ACTION_WORDS, MAX_TEXT
from rules.feedback import DIGIT_KEYS, MAX_SENTENCE, RATINGS
from rules.municipalities import MAX_MUNICIPALITY
from rules.qa_digest import MAX_QUESTION
from rules.reactions import REGISTER, VOTES
from storage import planned, qa, registrations, series, topics

COORDINATOR = Role.COORDINATOR
MODERATOR = Role.MODERATOR
SWITCH = {"an": True, "ein": True, "ja": True, "on": True, "aus": False, "nein": False, "off": False}
CONFIRM = {"ja": True, "yes": True, "bestätigen": True}
REGION_WORDS = {"bielefeld": "Bielefeld", "paderborn": "Paderborn", "beide": BOTH, "both": BOTH}
MAX_MATERIAL_TITLE = 200  # characters of a material's title (`!material`)
MUNICIPALITY = Rest(
    "municipality",
    "args.municipality",
    required=False,
    maximum=MAX_MUNICIPALITY,
    too_long="registration.municipality_too_long",
)

# !hilfe
help_router = Router("help", "commands.help")
help_router.command("hilfe", aliases=("help",), help="help.help")(help_router.later("show_help"))

# The programme
sessions_router = Router("sessions", "commands.sessions")
sessions_router.command("termine", aliases=("sessions",), help="help.sessions")(sessions_router.later("list_sessions"))
sessions_router.command("termin", aliases=("session",), help="help.session", args=[SessionRef()])(
    sessions_router.later("show_session")
)
sessions_router.command("kalender", aliases=("calendar", "ics"), help="help.calendar", args=[SessionOrSeries()])(
    sessions_router.later("calendar")
)

# Registrations, by command and by ✅ on an announcement
registration_router = Router("registration", "commands.registration")
registration_router.command(
    "anmelden", aliases=("register",), help="help.register", args=[SessionOrSeries(required=False), MUNICIPALITY]
)(registration_router.later("register_command"))
registration_router.reaction(REGISTER, on=planned.announcement_by_event)(
    registration_router.later("register_by_reaction")
)
registration_router.reaction(REGISTER, on=series.series_by_announcement)(
    registration_router.later("register_series_by_reaction")
)
registration_router.command(
    "abmelden", aliases=("unregister", "cancel"), help="help.unregister", args=[SessionOrSeries(required=False)]
)(registration_router.later("unregister_command"))
registration_router.redaction(on=registrations.registration_by_reaction)(
    registration_router.later("withdraw_by_reaction")
)
registration_router.command("meine", aliases=("mine",), help="help.mine")(registration_router.later("mine"))
registration_router.command(
    "erinnerung",
    aliases=("erinnerungen", "reminders"),
    help="help.reminders",
    args=[Choice("choice", "args.switch", required=False, choices=SWITCH, invalid="registration.reminders_usage")],
)(registration_router.later("reminders"))

# Coordinators' sessions
coordination_router = Router("coordination", "commands.coordination")
coordination_router.command(
    "termin neu",
    aliases=("session new",),
    help="help.session_new",
    role=COORDINATOR,
    args=[Rest("fields", "args.new_fields", missing="sessions.new_usage")],
)(coordination_router.later("create_session"))
coordination_router.command(
    "termin ändern",
    aliases=("termin aendern", "session change"),
    help="help.session_change",
    role=COORDINATOR,
    args=[SessionOrSeries(), Rest("fields", "args.change_fields", missing="coordination.change_usage")],
)(coordination_router.later("change_command"))
coordination_router.command(
    "termin absagen",
    aliases=("session cancel",),
    help="help.session_cancel",
    role=COORDINATOR,
    args=[SessionRef(), Rest("reason", "args.reason", required=False)],
)(coordination_router.later("cancel_command"))
coordination_router.command(
    "teilnehmer",
    aliases=("teilnehmende", "participants"),
    help="help.participants",
    role=COORDINATOR,
    args=[SessionRef()],
)(coordination_router.later("participants"))

# Series
series_router = Router("series", "commands.series")
series_router.command(
    "reihe neu",
    aliases=("series new",),
    help="help.series_new",
    role=COORDINATOR,
    args=[Rest("fields", "args.series_fields", missing="series.new_usage")],
)(series_router.later("new_series"))
series_router.command("reihe", aliases=("series",), help="help.series", args=[Number("number", "args.series")])(
    series_router.later("show_series")
)

# After a session
followups_router = Router("followups", "commands.followups")
followups_router.command(
    "protokoll",
    aliases=("protocol", "minutes"),
    help="help.protocol",
    role=COORDINATOR,
    args=[SessionRef(), Link("url", missing="followups.link_missing")],
)(followups_router.later("protocol"))
followups_router.command(
    "material",
    aliases=("folien", "slides"),
    help="help.material",
    role=COORDINATOR,
    args=[
        SessionRef(),
        Link("url", missing="followups.link_missing"),
        Rest(
            "title",
            "args.title",
            required=False,
            maximum=MAX_MATERIAL_TITLE,
            too_long="followups.material_title_too_long",
        ),
    ],
)(followups_router.later("material"))
followups_router.command(
    "nachbereitung",
    aliases=("followup",),
    help="help.followup",
    role=COORDINATOR,
    args=[SessionRef(), Rest("text", "args.followup", missing="followups.text_missing")],
)(followups_router.later("followup"))
followups_router.command("archiv", aliases=("archive",), help="help.archive")(followups_router.later("archive_command"))

# The bot's state
status_router = Router("status", "commands.status")
status_router.command("status", help="help.status", role=COORDINATOR)(status_router.later("status"))

# One's own data
privacy_router = Router("privacy", "commands.privacy")
privacy_router.command("meine-daten", aliases=("meinedaten", "my-data"), help="help.my_data")(
    privacy_router.later("my_data")
)
privacy_router.command(
    "daten-löschen",
    aliases=("daten-loeschen", "delete-my-data"),
    help="help.delete_data",
    args=[Choice("confirmed", "args.confirm", choices=CONFIRM, missing="privacy.confirm", invalid="privacy.confirm")],
)(privacy_router.later("delete_data"))

# Q&A rounds: commands, questions in the round's thread, 👍 on a question
qa_router = Router("qa", "commands.qa")
qa_router.command(
    "fragerunde start",
    aliases=("qa start",),
    help="help.qa_start",
    role=MODERATOR,
    args=[SessionRef(required=False)],
)(qa_router.later("start_round"))
qa_router.command(
    "fragerunde ende",
    aliases=("qa ende", "qa end"),
    help="help.qa_end",
    role=MODERATOR,
    args=[SessionRef(required=False)],
)(qa_router.later("end_round"))
qa_router.thread_message(on=qa.round_by_root)(qa_router.later("question_in_thread"))
qa_router.command(
    "frage",
    aliases=("question",),
    help="help.question",
    args=[
        Flag("anonymous", "args.anonymous", words=("anonym", "anonymous")),
        SessionRef(),
        Rest("text", "args.question", missing="qa.text_missing", maximum=MAX_QUESTION, too_long="qa.too_long"),
    ],
)(qa_router.later("ask"))
qa_router.command(
    "fragen", aliases=("questions",), help="help.questions", role=MODERATOR, args=[SessionRef(required=False)]
)(qa_router.later("list_questions"))
qa_router.command(
    "beantwortet", aliases=("answered",), help="help.answered", role=MODERATOR, args=[Number("question")]
)(qa_router.later("answered"))
qa_router.command("verbergen", aliases=("hide",), help="help.hide", role=MODERATOR, args=[Number("question")])(
    qa_router.later("hide")
)
qa_router.reaction(VOTES, on=qa.question_by_event)(qa_router.later("vote"))
qa_router.redaction(on=qa.vote_by_reaction)(qa_router.later("withdraw_vote"))

# Official rooms
rooms_router = Router("rooms", "commands.rooms")
rooms_router.command(
    "raum freischalten",
    aliases=("raum aktivieren", "room enable"),
    help="help.room_enable",
    role=COORDINATOR,
    args=[Choice("region", "args.region", required=False, choices=REGION_WORDS, invalid="rooms.region_usage")],
)(rooms_router.later("enable"))
rooms_router.command(
    "raum sperren", aliases=("raum deaktivieren", "room disable"), help="help.room_disable", role=COORDINATOR
)(rooms_router.later("disable"))
rooms_router.command("raum brett", aliases=("room board",), help="help.room_board", role=COORDINATOR)(
    rooms_router.later("choose_board")
)

# Topic wishes, and 👍 on a wish
topics_router = Router("topics", "commands.topics")
topics_router.command(
    "thema", aliases=("topic",), help="help.topic", args=[Rest("text", "args.topic", missing="topics.usage")]
)(topics_router.later("topic"))
topics_router.command("themen", aliases=("topics",), help="help.topics")(topics_router.later("list_topics"))
topics_router.reaction(VOTES, on=topics.topic_by_event)(topics_router.later("vote"))
topics_router.redaction(on=topics.vote_by_reaction)(topics_router.later("withdraw_vote"))

# Feedback: the command, a reply to the question, a digit reaction on it
feedback_router = Router("feedback", "commands.feedback")
feedback_router.command(
    "feedback",
    aliases=("rückmeldung", "rueckmeldung"),
    help="help.feedback",
    args=[SessionRef(), Rest("answer", "args.feedback", required=False, maximum=MAX_SENTENCE + 10)],
)(feedback_router.later("give_feedback"))
feedback_router.reply_message(on=planned.feedback_question_by_event)(feedback_router.later("reply_to_question"))
for _rating in RATINGS:  # one route per digit, all under one name (see commands.feedback.feedback_rating)
    feedback_router.reaction(
        {k for k in DIGIT_KEYS if k.startswith(str(_rating))}, on=planned.feedback_question_by_event
    )(feedback_router.later("feedback_rating", rating=_rating))
feedback_router.command(
    "auswertung", aliases=("evaluation",), help="help.evaluation", role=COORDINATOR, args=[SessionRef()]
)(feedback_router.later("evaluate"))

# Polls
polls_router = Router("polls", "commands.polls")
polls_router.command(
    "umfrage",
    aliases=("poll",),
    help="help.poll",
    role=COORDINATOR,
    args=[Flag("end", "args.poll_end", words=("ende", "end")), SessionRef()],
)(polls_router.later("poll"))

# The cooperation board
board_router = Router("board", "commands.board")
ENTRY_TEXT = Rest("text", "args.board_entry", missing="board.usage", maximum=MAX_TEXT, too_long="board.too_long")
board_router.command("biete", aliases=("angebot", "offer"), help="help.offer", args=[ENTRY_TEXT])(
    board_router.later("offer")
)
board_router.command("suche", aliases=("gesuch", "need"), help="help.need", args=[ENTRY_TEXT])(
    board_router.later("need")
)
board_router.command(
    "markt",
    aliases=("market",),
    help="help.market",
    args=[Rest("text", "args.board_search", required=False, maximum=200, too_long="board.too_long")],
)(board_router.later("market"))
board_router.command(
    "kontakt",
    aliases=("contact",),
    help="help.contact",
    args=[EntryRef(), Flag("decline", "args.decline", words=("ablehnen", "decline"))],
)(board_router.later("contact"))
board_router.command(
    "eintrag",
    aliases=("entry",),
    help="help.entry",
    args=[
        EntryRef(),
        Choice(
            "action",
            "args.entry_action",
            choices=ACTION_WORDS,
            missing="board.entry_usage",
            invalid="board.entry_usage",
        ),
        Rest("reason", "args.reason", required=False),
    ],
)(board_router.later("change"))

# Municipalities
municipalities_router = Router("municipalities", "commands.municipalities")
municipalities_router.command(
    "kommune",
    aliases=("municipality",),
    help="help.municipality",
    args=[
        Rest(
            "name",
            "args.municipality",
            required=False,
            maximum=MAX_MUNICIPALITY,
            too_long="registration.municipality_too_long",
        )
    ],
)(municipalities_router.later("municipality"))

# The year's figures
statistics_router = Router("statistics", "commands.statistics")
statistics_router.command(
    "statistik",
    aliases=("statistics",),
    help="help.statistics",
    role=COORDINATOR,
    args=[Rest("typed", "args.year", required=False)],
)(statistics_router.later("statistics"))

# Calendar feeds, web pages, the room widget
calendar_feed_router = Router("calendar_feed", "commands.calendar_feed")
calendar_feed_router.command("kalender abonnieren", aliases=("calendar subscribe",), help="help.calendar_subscribe")(
    calendar_feed_router.later("subscribe")
)
calendar_feed_router.command(
    "kalender abbestellen", aliases=("calendar unsubscribe",), help="help.calendar_unsubscribe"
)(calendar_feed_router.later("unsubscribe"))
web_login_router = Router("web_login", "commands.web_login")
web_login_router.command("web", aliases=("login",), help="help.web")(web_login_router.later("send_link"))
web_login_router.command("web abmelden", aliases=("web logout",), help="help.web_logout")(
    web_login_router.later("sign_out")
)
widget_router = Router("widget", "commands.widget")
widget_router.command("raum widget", aliases=("room widget",), help="help.room_widget", role=COORDINATOR)(
    widget_router.later("widget")
)

# Every router, in the order the dispatcher tries them.
ROUTERS = (
    help_router,
    sessions_router,
    registration_router,
    coordination_router,
    series_router,
    followups_router,
    status_router,
    privacy_router,
    qa_router,
    rooms_router,
    topics_router,
    feedback_router,
    polls_router,
    board_router,
    municipalities_router,
    statistics_router,
    calendar_feed_router,
    web_login_router,
    widget_router,
)
