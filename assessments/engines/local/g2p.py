"""Letter-to-sound rules learnt from CMUdict, for words the dictionary does not know.

Training aligns each word's letters to its phones (every letter yields zero, one or two
phones; hard EM over the alignment probabilities), then counts what each letter yields in
growing windows of context. Only windows that change the answer of the next narrower window
are kept, so the shipped table stays small; prediction takes the widest window that
matches. Re-create the table with::

    python -m assessments.engines.local.g2p [--dict path/to/cmudict] [--out path]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pocketsphinx import get_model_path

from assessments.engines.local.normalize import fold

TABLE_PATH = Path(__file__).with_name("data") / "g2p.json.gz"
_EMPTY = ""
# Windows as (letters to the left, letters to the right), narrowest first; each one's
# answer is an exception to the one before it.
_WINDOWS = ((0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3))
MIN_COUNT = 2
_WORD = re.compile(r"^[a-z']+$")


def default_dictionary() -> Path:
    return Path(get_model_path("en-us/cmudict-en-us.dict"))


def read_dictionary(path: Path) -> dict[str, tuple[str, ...]]:
    """First pronunciation of every plain word in a CMUdict-format file."""
    entries: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 2 or "(" in parts[0] or not _WORD.match(parts[0]):
                continue
            entries.setdefault(parts[0], tuple(parts[1:]))
    return entries


# --- prediction -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    with gzip.open(TABLE_PATH, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def predict(word: str) -> tuple[str, ...]:
    """Phones for a word: its letters, accents folded ("naïve" as "naive").

    Empty when a letter is not a Latin one (the rules only know a–z): a partial
    pronunciation would be scored as if it were the whole word.
    """
    letters = [c for c in fold(word) if c.isalpha()]
    if not all("a" <= c <= "z" for c in letters):
        return ()
    table = _table()
    phones: list[str] = []
    for i in range(len(letters)):
        answer = _EMPTY
        for left, right in _WINDOWS:
            found = table.get(_context(letters, i, left, right))
            if found is not None:
                answer = found
        phones.extend(answer.split())
    return tuple(phones)


def _context(letters: list[str], i: int, left: int, right: int) -> str:
    padded = ["#"] * 3 + letters + ["#"] * 3
    j = i + 3
    return f"{left}{right}:" + "".join(padded[j - left : j + right + 1])


# --- training ---------------------------------------------------------------------------


# Log-probabilities for a letter/chunk pair not seen yet: before the first estimate this
# is the prior (one phone per letter is usual, silent letters next, two phones rare).
_PRIOR = {0: -2.0, 1: -0.5, 2: -4.0}


def align(letters: str, phones: tuple[str, ...], logp: dict) -> list[str] | None:
    """Best split of ``phones`` over ``letters`` (each letter takes 0–2 phones)."""
    _UNSEEN = _PRIOR if not logp else {0: -12.0, 1: -12.0, 2: -12.0}
    n, m = len(letters), len(phones)
    best = [[-math.inf] * (m + 1) for _ in range(n + 1)]
    back = [[0] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(1, n + 1):
        letter = letters[i - 1]
        for j in range(m + 1):
            for take in (0, 1, 2):
                if take > j or best[i - 1][j - take] == -math.inf:
                    continue
                chunk = " ".join(phones[j - take : j])
                score = best[i - 1][j - take] + logp.get((letter, chunk), _UNSEEN[take])
                if score > best[i][j]:
                    best[i][j], back[i][j] = score, take
    if best[n][m] == -math.inf:
        return None
    chunks, j = [], m
    for i in range(n, 0, -1):
        take = back[i][j]
        chunks.append(" ".join(phones[j - take : j]))
        j -= take
    return chunks[::-1]


def _estimate(pairs: Iterable[tuple[str, list[str]]]) -> dict:
    counts: dict[str, Counter] = defaultdict(Counter)
    for letters, chunks in pairs:
        for letter, chunk in zip(letters, chunks, strict=True):
            counts[letter][chunk] += 1
    logp = {}
    for letter, chunk_counts in counts.items():
        total = sum(chunk_counts.values())
        for chunk, count in chunk_counts.items():
            logp[(letter, chunk)] = math.log(count / total)
    return logp


def train(entries: dict[str, tuple[str, ...]], iterations: int = 3) -> dict[str, str]:
    words = [(w.replace("'", ""), p) for w, p in entries.items() if w.replace("'", "")]
    logp: dict = {}
    aligned: list[tuple[str, list[str]]] = []
    for _ in range(iterations):
        aligned = []
        for letters, phones in words:
            chunks = align(letters, phones, logp)
            if chunks is not None:
                aligned.append((letters, chunks))
        logp = _estimate(aligned)
    return _rules(aligned)


def _rules(aligned: list[tuple[str, list[str]]]) -> dict[str, str]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for letters, chunks in aligned:
        letter_list = list(letters)
        for i, chunk in enumerate(chunks):
            for left, right in _WINDOWS:
                counts[_context(letter_list, i, left, right)][chunk] += 1
    table: dict[str, str] = {}
    for letters, _chunks in aligned:
        letter_list = list(letters)
        for i in range(len(letter_list)):
            predicted = None
            for left, right in _WINDOWS:
                key = _context(letter_list, i, left, right)
                ((answer, count),) = counts[key].most_common(1)
                # A window seen once is more likely a spelling accident than a rule.
                if answer != predicted and (count >= MIN_COUNT or predicted is None):
                    table[key] = answer
                    predicted = answer
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dict", type=Path, default=default_dictionary())
    parser.add_argument("--out", type=Path, default=TABLE_PATH)
    args = parser.parse_args(argv)
    table = train(read_dictionary(args.dict))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as handle:
        json.dump(table, handle, separators=(",", ":"), sort_keys=True)
    print(f"{len(table)} rules written to {args.out}")


if __name__ == "__main__":
    main()
