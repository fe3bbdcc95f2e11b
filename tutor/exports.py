"""CSV exports of a class's attempts and word results, streamed row by row.

A class can have hundreds of thousands of word rows, so the rows are never built in
memory: they come from ``values_list().iterator(chunk_size=...)`` (one query, fetched in
chunks) and are written to the response in blocks as they are produced. The word export
keeps one small tuple per attempt (not per word) to fill in the attempt's columns.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from assessments.models import Attempt, WordResult

CHUNK_SIZE = 2000
ROWS_PER_BLOCK = 500

# Spreadsheet programs run a cell starting with one of these as a formula ("CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class _Buffer:
    """Where csv.writer writes; emptied each time a block is sent."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, value: str) -> None:
        self.parts.append(value)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def csv_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would evaluate; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _text(value: Any) -> str:
    return "" if value is None else csv_safe(str(value))


def _number(value: float | None) -> Any:
    return "" if value is None else round(value, 1)


def _integer(value: int | None) -> Any:
    return "" if value is None else value


def _flag(value: bool) -> str:
    return "yes" if value else "no"


def _when(value: datetime | None) -> str:
    return "" if value is None else timezone.localtime(value).isoformat(timespec="seconds")


def _stream(
    header: Iterable[str], rows: Iterable[Iterable[Any]], formats: list[Callable[[Any], Any]]
) -> Iterator[str]:
    """CSV text in blocks of ROWS_PER_BLOCK rows: one write per row would cost more in the
    response machinery than the row itself."""
    buffer = _Buffer()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([fmt(value) for fmt, value in zip(formats, row, strict=True)])
        if count % ROWS_PER_BLOCK == 0:
            yield buffer.take()
    yield buffer.take()


def _response(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# (CSV header, formatter). Fields are listed separately in the order the query reads them.
ATTEMPT_COLUMNS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("attempt_id", _text),
    ("learner_username", _text),
    ("learner_name", _text),
    ("lesson", _text),
    ("locale", _text),
    ("status", _text),
    ("engine", _text),
    ("pronunciation", _number),
    ("accuracy", _number),
    ("fluency", _number),
    ("completeness", _number),
    ("prosody", _number),
    ("created_at", _when),
    ("finished_at", _when),
    ("recognized_text", _text),
)
ATTEMPT_FIELDS = (
    "public_id", "learner__username", "learner__first_name", "learner__last_name",
    "lesson__title", "lesson__locale", "status", "engine", "pronunciation", "accuracy",
    "fluency", "completeness", "prosody", "created_at", "finished_at", "recognized_text",
)
WORD_COLUMNS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("attempt_id", _text),
    ("learner_username", _text),
    ("lesson", _text),
    ("attempt_created_at", _when),
    ("position", _integer),
    ("word", _text),
    ("accuracy", _number),
    ("error_type", _text),
    ("unexpected_break", _flag),
    ("missing_break", _flag),
    ("monotone", _flag),
)
WORD_FIELDS = (
    "order", "word", "accuracy", "error_type", "unexpected_break", "missing_break", "monotone",
)


def attempt_rows(attempts: QuerySet[Attempt]) -> Iterator[tuple[Any, ...]]:
    rows = (
        attempts.order_by("learner__username", "created_at", "pk")
        .values_list(*ATTEMPT_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for public_id, username, first, last, *rest in rows:
        yield (public_id, username, f"{first} {last}".strip(), *rest)


def word_rows(
    *, attempts: QuerySet[Attempt], words: QuerySet[WordResult]
) -> Iterator[tuple[Any, ...]]:
    """Word rows with their attempt's columns.

    The attempt columns are read once per attempt (one query, kept in a dict) instead of
    being joined and converted again for each of its words; the words then stream in
    (attempt, position) order straight from the unique index. Words of an attempt that
    was not there for the first query are skipped.
    """
    attempt_columns = {
        pk: (str(public_id), _text(username), _text(title), _when(created_at))
        for pk, public_id, username, title, created_at in attempts.order_by().values_list(
            "pk", "public_id", "learner__username", "lesson__title", "created_at"
        ).iterator(chunk_size=CHUNK_SIZE)
    }
    rows = (
        words.filter(attempt_id__in=attempts.order_by().values("pk"))
        .order_by("attempt_id", "order")
        .values_list("attempt_id", *WORD_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for attempt_id, *values in rows:
        columns = attempt_columns.get(attempt_id)
        if columns is None:
            # Scored after the attempt columns were read (the two queries are not one
            # snapshot): left out, as it would have been had the export started earlier.
            continue
        yield (*columns, *values)


def attempts_csv_response(
    *, attempts: QuerySet[Attempt], filename: str
) -> StreamingHttpResponse:
    """One row per attempt: the learner, lesson, five scores, dates and engine."""
    header = [name for name, _ in ATTEMPT_COLUMNS]
    formats = [fmt for _, fmt in ATTEMPT_COLUMNS]
    return _response(_stream(header, attempt_rows(attempts), formats), filename)


def words_csv_response(*, attempts: QuerySet[Attempt], filename: str) -> StreamingHttpResponse:
    """One row per word of each of ``attempts``, with its accuracy and error type."""
    header = [name for name, _ in WORD_COLUMNS]
    # The attempt columns arrive already formatted (see word_rows).
    formats = [_same] * 4 + [fmt for _, fmt in WORD_COLUMNS[4:]]
    rows = word_rows(attempts=attempts, words=WordResult.objects.all())
    return _response(_stream(header, rows, formats), filename)


def _same(value: Any) -> Any:
    return value
