"""Bulk import of lessons from CSV: every row validated, nothing saved unless all are valid.

Each row becomes a ``Lesson`` and goes through ``full_clean()``, so the import enforces
exactly what the admin form does (field choices and ``Lesson.clean()``, i.e. the assessment
settings rules such as prosody only for en-US).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from tutor.models import Lesson

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
REQUIRED_COLUMNS = ("title", "reference_text")
OPTIONAL_COLUMNS = (
    "locale",
    "grading_system",
    "granularity",
    "dimension",
    "enable_miscue",
    "enable_prosody",
    "phoneme_alphabet",
    "nbest_phoneme_count",
    "scenario_id",
    "is_active",
    "order",
)
BOOLEAN_COLUMNS = ("enable_miscue", "enable_prosody", "is_active")
INTEGER_COLUMNS = ("nbest_phoneme_count", "order")
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off"}


@dataclass
class RowError:
    line: int  # the line number in the file, header = 1, as a spreadsheet shows it
    messages: list[str]


@dataclass
class ImportResult:
    created: list[Lesson] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors


def _decode(data: bytes) -> str:
    # utf-8-sig drops the byte-order mark spreadsheet programs put at the start.
    return data.decode("utf-8-sig")


def _parse_value(column: str, raw: str) -> object:
    value = raw.strip()
    if column in BOOLEAN_COLUMNS:
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        raise ValueError(f"{column}: {raw!r} is not yes/no (use true/false, yes/no or 1/0).")
    if column in INTEGER_COLUMNS:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{column}: {raw!r} is not a whole number.") from None
        if number < 0:
            raise ValueError(f"{column}: cannot be negative.")
        return number
    return value


def _lesson_from_row(row: dict[str, str]) -> tuple[Lesson | None, list[str]]:
    values: dict[str, object] = {}
    messages: list[str] = []
    for column in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        raw = row.get(column)
        if raw is None or (raw.strip() == "" and column not in REQUIRED_COLUMNS):
            continue  # an absent or empty optional cell keeps the model default
        try:
            values[column] = _parse_value(column, raw)
        except ValueError as error:
            messages.append(str(error))
    if messages:
        return None, messages
    lesson = Lesson(**values)
    try:
        lesson.full_clean()
    except ValidationError as error:
        for name, field_messages in error.message_dict.items():
            prefix = "" if name == "__all__" else f"{name}: "
            messages.extend(prefix + m for m in field_messages)
        return None, messages
    return lesson, []


def lessons_import_csv(*, data: bytes) -> ImportResult:
    """Validate every row of ``data`` and create the lessons only if all rows are valid."""
    result = ImportResult()
    if len(data) > MAX_BYTES:
        result.file_errors.append(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
        return result
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        result.file_errors.append("The file is not UTF-8 text. Save it as “CSV UTF-8”.")
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing:
        result.file_errors.append(f"Missing column(s): {', '.join(missing)}.")
    if unknown:
        result.file_errors.append(f"Unknown column(s): {', '.join(unknown)}.")
    if result.file_errors:
        return result

    lessons: list[Lesson] = []
    try:
        for row in reader:
            if reader.line_num > MAX_ROWS + 1:
                result.file_errors.append(f"More than {MAX_ROWS} rows; split the file.")
                return result
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line, common at the end of exported files
            if None in row:
                result.errors.append(
                    RowError(line=reader.line_num, messages=["More cells than columns."])
                )
                continue
            lesson, messages = _lesson_from_row(row)
            if messages:
                result.errors.append(RowError(line=reader.line_num, messages=messages))
            else:
                lessons.append(lesson)
    except csv.Error as error:
        result.file_errors.append(f"Line {reader.line_num}: not valid CSV ({error}).")
        return result
    if not lessons and not result.errors:
        result.file_errors.append("The file has no lessons in it.")
    if not result.ok:
        return result
    with transaction.atomic():
        # Saved one by one (a few hundred at most) so auto_now fields and signals behave.
        for lesson in lessons:
            lesson.save()
    result.created = lessons
    return result
