"""Building Matrix event contents (pure): notices, mentions, replies, threads, files and edits."""

from __future__ import annotations

import hashlib
import html
from typing import Any

from rules.i18n import Message

HTML_FORMAT = "org.matrix.custom.html"


def transaction_id(kind: str, *parts: str) -> str:
    """A deterministic transaction id, so a retried send is deduplicated by the homeserver."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"rb-{kind}-{digest}"


def relation(reply_to: str | None = None, thread_root: str | None = None) -> dict[str, Any]:
    """`m.relates_to` of a reply to `reply_to`, inside the thread `thread_root` if given.

    A message in a thread that answers nothing in particular replies to the root as a fallback
    (`is_falling_back`), so clients without threads still show where it belongs."""
    if thread_root:
        return {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    return {"m.in_reply_to": {"event_id": reply_to}}


def message_content(
    message: Message,
    *,
    notice: bool = True,
    reply_to: str | None = None,
    thread_root: str | None = None,
    mentions: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An m.notice (or m.text when it must notify) with plain and HTML bodies and explicit mentions.

    A notice that mentions nobody goes without `m.mentions`: notices never notify (the default
    push rule `.m.rule.suppress_notices` comes before every mention rule), so an empty one would
    change nothing, yet Synapse checks every `m.mentions` it is sent against its JSON schema, the
    schema itself included — about 2 ms of its time per message in a room of 200 members
    (docs/performance.md). An m.text always carries it: empty, it keeps the legacy rules (a name
    in the text) from notifying anyone."""
    content: dict[str, Any] = {
        "msgtype": "m.notice" if notice else "m.text",
        "body": message.plain,
        "format": HTML_FORMAT,
        "formatted_body": message.html,
    }
    if mentions or not notice:
        content["m.mentions"] = {"user_ids": list(mentions)} if mentions else {}
    if reply_to or thread_root:
        content["m.relates_to"] = relation(reply_to, thread_root)
    return content


def file_content(
    filename: str,
    where: dict[str, Any],
    mimetype: str,
    size: int,
    relates_to: dict[str, Any] | None = None,
    image: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """An m.file message for an uploaded file (`where`: its `url`, or `file` when encrypted); an
    m.image when `image` gives its width and height in pixels."""
    info: dict[str, Any] = {"mimetype": mimetype, "size": size}
    if image:
        info["w"], info["h"] = image
    content: dict[str, Any] = {
        "msgtype": "m.image" if image else "m.file",
        "body": filename,
        "filename": filename,
        **where,
        "info": info,
        "m.mentions": {},
    }
    if relates_to:
        content["m.relates_to"] = relates_to
    return content


def pill(user_id: str, display_name: str | None = None) -> Message:
    """A user mention: the name in plain text, a matrix.to link in HTML."""
    name = display_name or user_id
    href = html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    return Message(name, f'<a href="{href}">{html.escape(name, quote=False)}</a>')


def annotation(key: str, event_id: str | None = None) -> dict[str, Any]:
    """A reaction's content: `key` on `event_id` (None: the deliverer fills in the event of the
    message the reaction is meant for)."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def edit_content(original_event_id: str, new_content: dict[str, Any]) -> dict[str, Any]:
    """An `m.replace` edit: the fallback body is marked with "* ", and nobody is pinged again
    (the edit's own `m.mentions` is empty; the full mentions live in `m.new_content`)."""
    return {
        "msgtype": new_content["msgtype"],
        "body": f"* {new_content['body']}",
        "format": HTML_FORMAT,
        "formatted_body": f"* {new_content['formatted_body']}",
        "m.new_content": new_content,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
    }


def digest(content: dict[str, Any]) -> str:
    """A short fingerprint of what a message says (to edit only when it changed)."""
    return hashlib.sha256(f"{content['body']}\x1f{content.get('formatted_body', '')}".encode()).hexdigest()[:32]
