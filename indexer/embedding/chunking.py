"""What of a case is embedded, and how a long text is cut into chunks that fit the model's window.

The text is cut at sentence ends (。；！？ and line breaks) into pieces that fit the window, the first
``max_chunks`` pieces are embedded, and the text's vector is the L2-normalised mean of its chunk
vectors."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leian.corpora.record import CaseRecord

DEFAULT_MAX_CHUNKS = 4
# Names the chunking rules (sentence cuts, budget, slack, mean of chunks) in the keys of whole-document
# vectors, which, unlike chunk vectors, do not change with the chunks' text: bump it when the rules change.
CHUNKING_RULES = "sentences-1"
# Token slack per chunk: a span counted inside the whole text can take a token or two more when it is
# tokenised on its own (a leading "▁" and a re-segmented first character).
CHUNK_SLACK = 2

_SENTENCE_END = re.compile(r"[。；;！？!?\n]+[”’」』）)\"']*")


def document_text(record: CaseRecord) -> str:
    """The one place that decides which text of an indexed case is embedded: its facts section,
    or the whole judgment when no facts section was found. The indexer and
    ``scripts/embed_corpus.py`` both call this, so precomputed cache entries are hit."""
    return record.sections.facts or record.text


def sentence_cuts(text: str) -> list[int]:
    """Character offsets just after each sentence end (closing quotes stay with their sentence),
    always ending with ``len(text)``."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not cuts or cuts[-1] != len(text):
        cuts.append(len(text))
    return cuts


def chunk_spans(
    token_starts: Sequence[int], cuts: Sequence[int], text_len: int, budget: int, max_chunks: int | None
) -> list[tuple[int, int]]:
    """Greedy packing of sentences into chunks of at most ``budget`` tokens. Pure function.

    ``token_starts`` are the sorted character offsets where the text's tokens start and ``cuts`` the
    allowed cut offsets (sentence ends). A chunk ends at the farthest cut that keeps it within
    ``budget`` tokens; a single sentence longer than that is cut at a token boundary. At most
    ``max_chunks`` spans are returned (None = all); the spans are contiguous from offset 0.
    """
    if budget < 1:
        raise ValueError("chunk budget must be at least one token")
    spans: list[tuple[int, int]] = []
    start = 0
    while start < text_len and (max_chunks is None or len(spans) < max_chunks):
        first_tok = bisect.bisect_left(token_starts, start)
        if len(token_starts) - first_tok <= budget:  # the rest fits
            spans.append((start, text_len))
            break
        limit = token_starts[first_tok + budget]  # the first character that no longer fits
        i = bisect.bisect_right(cuts, limit) - 1
        end = cuts[i] if i >= 0 and cuts[i] > start else limit
        spans.append((start, end))
        start = end
    return spans or [(0, text_len)]
