"""The room widget: a coordinator adds the programme to an official room (`!raum widget`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.acting import NOTICE_TTL, Acting
from bot.roles import Role
from rules.errors import UserError
from rules.widget import LAYOUT_EVENT, WIDGET_EVENT, WIDGET_ID, WIDGET_PATH, layout_content, widget_content
from storage.outbox import Outgoing


@dataclass(frozen=True)
class WidgetAdded:
    """The widget was queued; `framable`: some Matrix client may show it (`[web] widget_hosts`)."""

    url: str
    framable: bool


def add_widget(act: Acting) -> WidgetAdded:
    """Add the programme as a widget to the room acted from (an official one, where the sender
    coordinates and the bot may set room state) and pin it to the top: two state events, through
    the outbox."""
    web = act.config.web
    if web is None:
        raise UserError("web_login.web_off")
    if not act.official.is_official(act.room_id):
        raise UserError("widget.not_official")
    act.require_in_room(Role.COORDINATOR, act.room_id)
    if not all(act.rooms.may_set_state(act.room_id, kind) for kind in (WIDGET_EVENT, LAYOUT_EVENT)):
        raise UserError("widget.no_power")
    url = web.url(WIDGET_PATH)
    content = widget_content(url, act.t("web.site_name").plain, act.config.matrix.user_id)
    for kind, event_type, state_key, body in (
        ("widget", WIDGET_EVENT, WIDGET_ID, content),
        ("layout", LAYOUT_EVENT, "", layout_content()),
    ):
        key = f"{kind}:{act.room_id}:{act.request_id}"
        act.queue(Outgoing(key, body, room_id=act.room_id, event_type=event_type, state_key=state_key), NOTICE_TTL)
    return WidgetAdded(url, bool(web.widget_hosts))
