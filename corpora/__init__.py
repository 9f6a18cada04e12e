"""Reading judgments in: format loaders, the bundled sample corpus, legal dictionaries, the case record."""

from leian.corpora.record import CaseRecord, Defendant, Sentence, Span

__all__ = ["CaseRecord", "Defendant", "Sentence", "Span"]
