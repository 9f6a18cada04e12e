"""One router per resource of the v1 API."""

from leian.api.routers import batches, cases, documents, reports, search, sentencing, service, text, web

__all__ = ["batches", "cases", "documents", "reports", "search", "sentencing", "service", "text", "web"]
