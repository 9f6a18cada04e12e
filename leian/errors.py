"""One exception hierarchy for the whole product.

Every layer raises these; ``leian.api`` maps them to HTTP statuses and CLI exit codes in one place
(``api/errors.py``). Messages are written for the user: the value, the limit, and the fix.
"""

import errno

# OSError numbers that are the disk's doing, not the data's: full, over a quota or a file size limit,
# read-only, failing. Writes that meet them stop with one clear error instead of a traceback.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})


def validation_message(e: ValueError) -> str:
    """The first problem of a pydantic error as one readable line: ``field: message``."""
    errors = getattr(e, "errors", None)
    if callable(errors) and errors():
        err = errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(e).splitlines()[0]


class LeianError(Exception):
    """Base class. ``code`` is the stable machine-readable error code used in API responses."""

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(LeianError):
    """The caller sent something unusable (empty facts, unknown filter value, oversized text)."""

    code = "invalid_input"


class InputTooLarge(InvalidInput):
    code = "input_too_large"


class NotFound(LeianError):
    code = "not_found"


class CorpusReadError(LeianError):
    """A corpus file or line could not be read; ``location`` names the file (and line)."""

    code = "corpus_read_error"

    def __init__(self, message: str, location: str = ""):
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


class IndexError_(LeianError):
    """Base for index problems (name avoids shadowing the builtin IndexError)."""

    code = "index_error"


class IndexMissing(IndexError_):
    code = "index_missing"


class IndexCorrupt(IndexError_):
    code = "index_corrupt"


class IndexBusy(IndexError_):
    """Another process is writing the index in a way this write cannot run beside (a full build)."""

    code = "index_busy"


class IndexWriteFailed(IndexError_):
    """Writing the index failed (disk full, a file size limit, an I/O error); what was being written
    is rolled back or discarded, so the index is as it was."""

    code = "index_write_failed"


class IndexIncompatible(IndexError_):
    """The index was built with another model, tokenizer, dictionary or format version."""

    code = "index_incompatible"


class OutputWriteFailed(LeianError):
    """Files asked for (a batch's reports) could not be written: the disk is full, or failing."""

    code = "output_write_failed"


class ModelUnavailable(LeianError):
    code = "model_unavailable"


class BackendUnavailable(LeianError):
    """The search backend (e.g. the Elasticsearch cluster) is down or too slow."""

    code = "backend_unavailable"


class BackendError(LeianError):
    """The backend answered with an error that is not the caller's fault (mapping conflict, bulk failure)."""

    code = "backend_error"


class Unauthorized(LeianError):
    code = "unauthorized"


class Forbidden(LeianError):
    """A valid key whose role does not allow the action."""

    code = "forbidden"


class VerificationFailed(InvalidInput):
    """A saved report does not match its content hash, or its rendering was changed (tampered)."""

    code = "verification_failed"
