"""How every use case reads a municipality that someone typed: matched against the regions' directory."""

from __future__ import annotations

from bot.acting import Acting
from rules.errors import UserError
from rules.municipalities import Outcome, match

MAX_MUNICIPALITY = 100  # characters of a typed municipality


def typed_municipality(act: Acting, text: str, retry: str) -> tuple[str, bool]:
    """(name, listed): the directory's name for what was typed, or the text itself (not listed)
    when it is close to nothing there. When it is only close, the person is asked back with
    `retry` (the command to write again, without the name) and nothing is done."""
    found = match(act.config.municipalities, text)
    if found.outcome == Outcome.SURE and found.name is not None:
        return found.name, True
    if found.outcome == Outcome.UNSURE:
        *others, last = found.candidates
        candidates = f"{', '.join(others)} {act.t('municipalities.or').plain} {last}" if others else last
        raise UserError("municipalities.did_you_mean", candidates=candidates, example=f"{retry} {found.candidates[0]}")
    return found.text, False
