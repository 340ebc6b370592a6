"""Role checks that use cases share beyond `Acting.require` (a session's room) and
`Acting.require_in_room` (a room the action names)."""

from __future__ import annotations

from bot.acting import Acting
from bot.roles import Role
from rules.errors import UserError


def require_role(act: Acting, role: Role) -> None:
    """Refuse unless the sender holds `role` where they act: power in the room counts only where
    the bot serves it officially, the config lists everywhere (on the web, only they count)."""
    if act.role < role:
        raise UserError("errors.role_reserved", role=act.t(f"roles.{role.name.lower()}"))
