"""Lesson CSV import: each row validated like the admin form; all rows or none."""

from __future__ import annotations

import pytest

from tutor.lesson_import import lessons_import_csv
from tutor.models import Lesson

pytestmark = pytest.mark.django_db

HEADER = "title,reference_text,locale,enable_prosody,nbest_phoneme_count,order\n"


def _import(text: str):
    return lessons_import_csv(data=text.encode())


def test_valid_file_creates_every_lesson(settings):
    settings.ASSESSMENT_ENGINE = "azure"  # the French lesson needs Azure to be scored
    result = _import(
        HEADER
        + "Hello,\"Hello, my name is Sam.\",en-US,yes,2,1\n"
        + "Bonjour,Bonjour tout le monde.,fr-FR,no,,2\n"
    )
    assert result.ok, (result.errors, result.file_errors)
    assert [lesson.title for lesson in result.created] == ["Hello", "Bonjour"]
    french = Lesson.objects.get(title="Bonjour")
    assert (french.locale, french.enable_prosody, french.order) == ("fr-FR", False, 2)
    assert french.nbest_phoneme_count == 0  # empty cell keeps the default
    assert Lesson.objects.get(title="Hello").reference_text == "Hello, my name is Sam."


def test_one_bad_row_saves_nothing_and_names_the_line():
    result = _import(
        HEADER
        + "Fine,Good morning.,en-US,yes,0,1\n"
        + "Prosody in French,Bonjour.,fr-FR,yes,0,2\n"  # prosody is en-US only
        + "Bad locale,Hello.,xx-XX,no,0,3\n"
        + "Bad number,Hello.,en-US,no,lots,4\n"
    )
    assert not result.ok
    assert Lesson.objects.count() == 0
    lines = {error.line: " ".join(error.messages) for error in result.errors}
    assert set(lines) == {3, 4, 5}
    assert "Prosody assessment is only available for en-US" in lines[3]
    assert "xx-XX" in lines[4]
    assert "nbest_phoneme_count" in lines[5] or "lots" in lines[5]


def test_missing_required_value_is_reported():
    result = _import("title,reference_text\nNo text,\n")
    assert not result.ok
    assert result.errors[0].line == 2
    assert any("reference_text" in m for m in result.errors[0].messages)


def test_header_problems_are_file_errors():
    result = _import("title,colour\nHello,blue\n")
    assert result.file_errors == ["Missing column(s): reference_text.",
                                  "Unknown column(s): colour."]


def test_byte_order_mark_and_blank_lines_are_accepted():
    data = "\ufefftitle,reference_text\nHello,Hello there.\n\n".encode()
    result = lessons_import_csv(data=data)
    assert result.ok
    assert len(result.created) == 1


def test_not_utf8_is_refused():
    result = lessons_import_csv(data="title,reference_text\nCafé,Un café.\n".encode("latin-1"))
    assert result.file_errors and "UTF-8" in result.file_errors[0]


def test_empty_file_is_refused():
    assert _import("title,reference_text\n").file_errors == ["The file has no lessons in it."]


def test_bad_boolean_is_reported():
    result = _import("title,reference_text,is_active\nHello,Hello.,maybe\n")
    assert "is_active" in result.errors[0].messages[0]


def test_with_the_offline_engine_a_lesson_it_cannot_score_is_named(settings):
    settings.ASSESSMENT_ENGINE = "local"
    result = _import(HEADER + "Bonjour,Bonjour tout le monde.,fr-FR,no,,2\n")
    assert not result.ok
    assert "scores en-US only" in " ".join(result.errors[0].messages)
    assert not Lesson.objects.exists()
