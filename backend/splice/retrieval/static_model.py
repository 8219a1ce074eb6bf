"""The static embedding model used for indexing: distilled once from MiniLM, then served by model2vec.

Running the transformer over every chunk of a large repository is far too slow on a CPU (measured: about
two 256-token chunks per second per core, so hours for a million lines). A static model gives each
vocabulary token one precomputed vector and embeds a text as the mean of its tokens' vectors, which is
thousands of times faster and keeps much of the transformer's sense of meaning. The distillation follows
model2vec's recipe (each token passed through the transformer alone between ``[CLS]`` and ``[SEP]``,
mean-pooled, reduced by PCA, weighted by a Zipf-estimated SIF weight) but runs on the numpy encoder, so
no PyTorch is needed; the result is saved in model2vec's format and loaded by ``model2vec.StaticModel``.

The distilled model lives in a cache directory (``SPLICE_MODEL_DIR``, else ``~/.cache/splice/models``);
``scripts/setup`` builds it, and :func:`load_static_model` builds it on first use otherwise.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.errors import RetrievalError
from splice.logging import get_logger

_log = get_logger()

MODEL_NAME = "splice-minilm-static-v1"
PCA_DIMS = 128
SIF_COEFFICIENT = 1e-4
_BATCH = 1024


def model_cache() -> Path:
    """The directory holding distilled models."""
    configured = os.environ.get("SPLICE_MODEL_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "splice" / "models"


def static_model_path() -> Path:
    return model_cache() / MODEL_NAME


def _pca(embeddings: npt.NDArray[np.float32], dims: int) -> npt.NDArray[np.float32]:
    centred = embeddings - embeddings.mean(axis=0)
    covariance = (centred.T @ centred) / max(1, centred.shape[0] - 1)
    _, vectors = np.linalg.eigh(covariance)
    components = vectors[:, ::-1][:, :dims]
    scores = centred @ components
    # model2vec's sign convention: the largest-magnitude score of each component is positive.
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(scores.shape[1])])
    reduced: npt.NDArray[np.float32] = (scores * signs).astype(np.float32)
    return reduced


def distil(target: Path | None = None, *, progress: Callable[[int, int], None] | None = None,
           limit: int | None = None) -> Path:
    """Distil the static model into ``target`` (default :func:`static_model_path`) and return it.

    ``limit`` keeps only the first token ids (a small model for tests); the full vocabulary takes a few
    minutes on one core.
    """
    from model2vec import StaticModel  # noqa: PLC0415 - optional dependency, needed only here and at load
    from tokenizers import Tokenizer  # noqa: PLC0415

    from splice.retrieval.encoder import MiniLMEncoder  # noqa: PLC0415 - the transformer loads only to distil

    target = target or static_model_path()
    encoder = MiniLMEncoder()
    tokenizer = Tokenizer.from_file(str(encoder.directory / "tokenizer.json"))
    vocabulary = tokenizer.get_vocab_size()
    count = vocabulary if limit is None else min(limit, vocabulary)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise RetrievalError("the embedding model's tokenizer has no [CLS]/[SEP] tokens")
    started = time.perf_counter()
    embeddings = np.zeros((vocabulary, encoder.dimension), dtype=np.float32)
    for start in range(0, count, _BATCH):
        ids = range(start, min(count, start + _BATCH))
        embeddings[start : start + len(ids)] = encoder.encode_ids([[cls_id, i, sep_id] for i in ids])
        if progress is not None:
            progress(min(count, start + _BATCH), count)
    # Token ids of a WordPiece vocabulary roughly follow frequency, which is what the Zipf estimate assumes.
    rank = np.arange(2, vocabulary + 2, dtype=np.float64)
    probability = (1 / rank) / np.sum(1 / rank)
    weights = SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)
    vectors = _pca(embeddings, PCA_DIMS) * weights[:, None].astype(np.float32)
    model = StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer, normalize=True,
                        base_model_name="sentence-transformers/all-MiniLM-L6-v2")
    staging = target.with_name(target.name + ".partial")
    model.save_pretrained(str(staging))
    (staging / "splice.json").write_text(json.dumps({
        "name": MODEL_NAME, "tokens_distilled": count, "pca_dims": PCA_DIMS, "sif": SIF_COEFFICIENT,
        "seconds": round(time.perf_counter() - started, 1),
    }))
    if target.exists():
        import shutil  # noqa: PLC0415 - rarely needed

        shutil.rmtree(target)
    os.replace(staging, target)
    _log.info("static_model.distilled", path=str(target), tokens=count,
              seconds=round(time.perf_counter() - started, 1))
    return target


class StaticEncoder:
    """Unit-length text embeddings from the distilled static model."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        self.name = name
        self.dimension = int(model.dim)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), use_multiprocessing=False, max_length=512)
        return np.asarray(vectors, dtype=np.float32)


def load_static_model(path: Path | None = None, *, build: bool = True) -> StaticEncoder:
    """The distilled model at ``path``, distilled first when missing and ``build`` allows it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = path or static_model_path()
    if not (path / "model.safetensors").is_file():
        if not build:
            raise RetrievalError(f"no static embedding model at {path}; run scripts/setup or `splice index --semantic`")
        distil(path)
    try:
        from model2vec import StaticModel  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise RetrievalError("semantic retrieval needs model2vec: pip install 'splice[semantic]'") from exc
    try:
        model = _local_model(StaticModel, path)
    except Exception as exc:  # a damaged model directory must not take indexing down with a stack trace
        raise RetrievalError(f"cannot load the static embedding model at {path}: {exc}") from exc
    info = path / "splice.json"
    name = json.loads(info.read_text()).get("name", MODEL_NAME) if info.is_file() else path.name
    return StaticEncoder(model, str(name))


def _local_model(static_model: Any, path: Path) -> Any:
    """The model in ``path``, read as model2vec's own loader reads a local folder in its format (embeddings
    and optional weights and token mapping from ``model.safetensors``, ``tokenizer.json``, ``config.json``),
    but without importing its model-hub and model-card modules: those cost a quarter of a second, more than
    everything else a warm ``splice complete`` does before it answers. Any other layout goes through
    ``from_pretrained``."""
    files = [path / name for name in ("model.safetensors", "tokenizer.json", "config.json")]
    if not all(file.is_file() for file in files):
        return static_model.from_pretrained(str(path))
    import safetensors  # noqa: PLC0415 - model2vec's own dependency, loaded with it
    from tokenizers import Tokenizer  # noqa: PLC0415 - as above

    tensors: Any = safetensors.safe_open(str(files[0]), framework="numpy")
    names = set(tensors.keys())
    config = json.loads(files[2].read_text(encoding="utf-8"))
    return static_model(
        vectors=tensors.get_tensor("embeddings"), tokenizer=Tokenizer.from_file(str(files[1])), config=config,
        normalize=bool(config.get("normalize", False)), max_length=config.get("max_length", 512),
        weights=tensors.get_tensor("weights") if "weights" in names else None,
        token_mapping=tensors.get_tensor("mapping") if "mapping" in names else None,
    )


if __name__ == "__main__":
    # ``python -m splice.retrieval.static_model``: distil once (scripts/setup); a no-op when present.
    if not (static_model_path() / "model.safetensors").is_file():
        distil()
