"""Message catalogues: German and English have the same keys and placeholders; HTML is safe."""

from __future__ import annotations

from rules.i18n import Message, catalogue, placeholders, t


def test_catalogues_have_the_same_keys():
    assert set(catalogue("de")) == set(catalogue("en"))


def test_catalogues_have_the_same_placeholders():
    german, english = catalogue("de"), catalogue("en")
    for key, text in german.items():
        if isinstance(text, str):
            assert placeholders(text) == placeholders(english[key]), key
        else:
            assert len(text) == len(english[key]), key


def test_user_text_is_escaped_in_html_only():
    message = t("sessions.details_head", "de", ref="#1", title="<b>Wärme</b> & Co")
    assert message.plain == "#1 <b>Wärme</b> & Co"
    assert message.html == "<strong>#1 &lt;b&gt;Wärme&lt;/b&gt; &amp; Co</strong>"


def test_markup_in_parameters_is_not_interpreted():
    message = t("sessions.details_talk", "de", value="**nicht fett** {prefix}")
    assert "<strong>" not in message.html
    assert message.plain == "Input: **nicht fett** {prefix}"


def test_join_keeps_lines():
    joined = Message.join([Message("a<", "a&lt;"), Message("b", "b")])
    assert joined.plain == "a<\nb"
    assert joined.html == "a&lt;<br>b"


def test_unknown_language_falls_back_to_german():
    assert t("sessions.none", "fr").plain == t("sessions.none", "de").plain
