"""Item vectors in one Chroma collection per catalog, with a manifest in the collection's metadata.

`connect(settings, catalog_name)` gives a `VectorStore` over an embedded
`PersistentClient` at `settings.chroma_dir`, or over a Chroma server
(`HttpClient`) when `settings.chroma_url` is set; everything above this module
is the same for both. Vectors are always passed in (the collection has no
embedding function, so Chroma never loads or downloads one).

The manifest lives in the collection metadata rather than a side file so a
server-backed index carries its own; it is written last with `complete=True`
by the builder (`retrieval.index`), so an interrupted build is visible.
Chroma failures are raised as `BackendError` naming the store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np
from recassist.foundation.errors import BackendError, ConfigError, RecassistError
from recassist.foundation.settings import Settings

MANIFEST_PREFIX = "recassist:"
MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class Manifest:
    """What an index was built from. `items_digest` hashes every (item id, document) pair."""

    catalog_version: str
    items_digest: str
    embedding_model: str
    doc_recipe: str
    dim: int
    item_count: int
    complete: bool
    schema: int = MANIFEST_SCHEMA

    def to_metadata(self) -> dict[str, Any]:
        return {MANIFEST_PREFIX + k: v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Manifest | None:
        """None when the metadata holds no (or an unreadable) manifest."""
        fields = {
            k[len(MANIFEST_PREFIX) :]: v for k, v in (meta or {}).items() if k.startswith(MANIFEST_PREFIX)
        }
        try:
            return cls(**fields)
        except TypeError:
            return None


@contextmanager
def _backend(where: str, what: str) -> Iterator[None]:
    """Translate Chroma / network failures into `BackendError` at this boundary."""
    try:
        yield
    except RecassistError:
        raise
    except Exception as e:  # chromadb raises many unrelated types (its own, httpx, ValueError, RuntimeError)
        raise BackendError(f"vector store {where}: {what} failed: {type(e).__name__}: {e}") from e


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def make_client(settings: Settings) -> tuple[Any, str]:
    """(Chroma client, human-readable location). One client per location per process."""
    from chromadb.config import Settings as ChromaSettings

    # Telemetry off: nothing may leave the machine.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"RECASSIST_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}"
            )
        where = settings.chroma_url
        port = url.port or (443 if url.scheme == "https" else 8000)
        with _clients_lock, _backend(where, "connect"):
            if where not in _clients:
                import chromadb

                _clients[where] = chromadb.HttpClient(
                    host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
                )
            return _clients[where], where
    path = settings.chroma_dir
    where = str(path)
    with _clients_lock, _backend(where, "open"):
        if where not in _clients:
            import chromadb

            path.mkdir(parents=True, exist_ok=True)
            _clients[where] = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return _clients[where], where


def collection_name(catalog_name: str) -> str:
    """Chroma-valid name (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends) for a catalog."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", catalog_name).strip("._-") or "catalog"
    return f"recassist-items-{slug}"[:200]


def connect(settings: Settings, catalog_name: str) -> VectorStore:
    client, where = make_client(settings)
    return VectorStore(client, collection_name(catalog_name), where)


class VectorStore:
    """One Chroma collection of item vectors. Ids are catalog item ids; similarity is cosine."""

    def __init__(self, client: Any, name: str, where: str) -> None:
        self.client, self.name, self.where = client, name, where
        self._collection: Any = None

    def __repr__(self) -> str:
        return f"VectorStore({self.name!r} at {self.where})"

    # --- collection lifecycle -----------------------------------------
    def _col(self) -> Any:
        if self._collection is None:
            with _backend(self.where, f"open collection {self.name}"):
                self._collection = self.client.get_or_create_collection(
                    self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
                )
        return self._collection

    def exists(self) -> bool:
        from chromadb.errors import NotFoundError

        # get_collection rather than list_collections: the latter pages (100 by default) on servers.
        with _backend(self.where, "look up collection"):
            try:
                self.client.get_collection(self.name, embedding_function=None)
            except NotFoundError:
                return False
            return True

    def reset(self) -> None:
        """Drop every vector and the manifest (used when the model or recipe changed)."""
        with _backend(self.where, f"reset collection {self.name}"):
            if self.exists():
                self.client.delete_collection(self.name)
        self._collection = None
        self._col()

    def manifest(self) -> Manifest | None:
        """The stored manifest, or None when the collection is missing or has none."""
        if not self.exists():
            return None
        with _backend(self.where, "read manifest"):
            self._collection = None  # re-read: another process may have changed it
            return Manifest.from_metadata(self._col().metadata)

    def write_manifest(self, manifest: Manifest) -> None:
        # Chroma's modify() replaces the whole metadata dict, so the manifest is all that lives there.
        with _backend(self.where, "write manifest"):
            self._col().modify(metadata=manifest.to_metadata())

    # --- items ----------------------------------------------------------
    def max_batch(self) -> int:
        with _backend(self.where, "get_max_batch_size"):
            return int(self.client.get_max_batch_size())

    def count(self) -> int:
        with _backend(self.where, "count"):
            return int(self._col().count())

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str] | None = None,
        on_chunk: Any = None,
    ) -> None:
        """Insert or replace items, in chunks of the client's max batch size.

        `vectors`: float32 [len(ids), dim]. `on_chunk(n)` is called after each chunk (progress bars).
        """
        if len(ids) != len(vectors) or len(ids) != len(metadatas):
            raise ValueError("ids, vectors and metadatas must have the same length")
        step = self.max_batch()
        for start in range(0, len(ids), step):
            end = start + step
            with _backend(self.where, f"upsert {len(ids[start:end])} items"):
                self._col().upsert(
                    ids=list(ids[start:end]),
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                    metadatas=list(metadatas[start:end]),
                    documents=list(documents[start:end]) if documents is not None else None,
                )
            if on_chunk is not None:
                on_chunk(len(ids[start:end]))

    def delete(self, ids: Sequence[str]) -> None:
        step = self.max_batch()
        for start in range(0, len(ids), step):
            with _backend(self.where, "delete"):
                self._col().delete(ids=list(ids[start : start + step]))

    def stored_metadata(self, field: str) -> dict[str, Any]:
        """{item id: metadata[field]} for every stored item, read page by page."""
        out: dict[str, Any] = {}
        step = self.max_batch()
        offset = 0
        while True:
            with _backend(self.where, "read metadata"):
                page = self._col().get(include=["metadatas"], limit=step, offset=offset)
            for item_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                out[item_id] = (meta or {}).get(field)
            if len(page["ids"]) < step:
                return out
            offset += step

    def query(
        self, vectors: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[list[tuple[str, float]]]:
        """Nearest items for each query vector: per query, [(item id, cosine similarity)] best first.

        `vectors`: float32 [m, dim] (unit length). Returns m lists of at most n pairs.
        """
        if len(vectors) == 0 or n <= 0:
            return [[] for _ in range(len(vectors))]
        with _backend(self.where, "query"):
            res = self._col().query(
                query_embeddings=np.asarray(vectors, dtype=np.float32),
                n_results=n,
                where=where,
                include=["distances"],
            )
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(res["ids"], res["distances"], strict=True)
        ]
