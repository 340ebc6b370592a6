"""The room widget (pure): the state events that add the programme to a room as a widget and pin
it to the top in Element, and the Widget API's few facts the widget page relies on."""

from __future__ import annotations

from typing import Any

WIDGET_EVENT = "im.vector.modular.widgets"
LAYOUT_EVENT = "io.element.widgets.layout"
WIDGET_ID = "regiobot_programm"
# Element fills in the widget's id; the page also learns it from the client's first message.
WIDGET_PATH = "/widget?widgetId=$matrix_widget_id"


def widget_content(url: str, name: str, creator: str) -> dict[str, Any]:
    """The widget's state event (state key WIDGET_ID): a custom widget showing `url`."""
    return {
        "type": "m.custom",
        "url": url,
        "name": name,
        "data": {},
        "id": WIDGET_ID,
        "creatorUserId": creator,
        "waitForIframeLoad": True,
    }


def layout_content() -> dict[str, Any]:
    """Element's room layout (state key ""): the widget pinned to the top, across the room."""
    return {"widgets": {WIDGET_ID: {"container": "top", "index": 0, "width": 100, "height": 40}}}
