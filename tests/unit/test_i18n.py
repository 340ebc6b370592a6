"""Message catalogues: German and English have the same keys and placeholders; HTML is safe."""

from __future__ import annotations

from rules.i18n import Message, catalogue, forms, placeholders, t


def test_catalogues_have_the_same_keys():
    assert set(catalogue("de")) == set(catalogue("en"))


def test_catalogues_have_the_same_placeholders():
    german, english = catalogue("de"), catalogue("en")
    for key, text in german.items():
        if isinstance(text, list):
            assert len(text) == len(english[key]), key
            continue
        assert type(text) is type(english[key]), key
        for german_form, english_form in zip(forms(text), forms(english[key]), strict=True):
            assert placeholders(german_form) == placeholders(english_form), key
        if isinstance(text, dict):  # a plural entry: both forms use the parameter that decides
            assert text["count"] == english[key]["count"] and all(text["count"] in placeholders(f) for f in forms(text))


def test_plurals_follow_the_number():
    assert t("planned.starts_soon", "de", minutes=1).plain == "in 1 Minute"
    assert t("planned.starts_soon", "de", minutes=2).plain == "in 2 Minuten"
    assert t("sessions.places_left", "de", left=1, capacity=1).plain == "1 von 1 Platz frei"
    assert t("sessions.places_left", "de", left=2, capacity=30).plain == "2 von 30 Plätzen frei"
    assert t("sessions.places_full", "de", capacity=1, waitlisted=0).plain.startswith("ausgebucht (1 Platz)")
    assert t("sessions.places_full", "de", capacity=2, waitlisted=0).plain.startswith("ausgebucht (2 Plätze)")


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
