"""Retrieval subcommands: `index build`, `index status`, `candidates`.

`register_commands(sub, eval_sub)` is what the `recassist` command calls;
`add_index_commands(sub)` adds the same commands to any argparse subparsers.
Handlers take `(args, settings)`, return an exit code and raise library
errors, which the main CLI turns into messages. `python -m recassist.retrieval.cli`
runs these commands alone, with the same error mapping.

`candidates` takes a profile as JSON; plain text is searched as raw text unless
the caller sets `text_to_profile` (the `recassist` command wires in extraction,
which lives in the layer above this one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from recassist.foundation.errors import InputError
from recassist.foundation.settings import Settings


def add_index_commands(sub) -> None:
    """Register `index build|status` and `candidates` on an argparse subparsers object."""
    idx = sub.add_parser("index", help="the item vector index (Chroma)")
    idx_sub = idx.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    p = idx_sub.add_parser(
        "build", help="embed the catalog (cached by content) and write the index; resumable"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _domain_option(p)
    p.set_defaults(handler=cmd_index_build)
    p = idx_sub.add_parser("status", help="show the index manifest and whether it matches the catalog")
    _domain_option(p)
    p.set_defaults(handler=cmd_index_status)
    p = idx_sub.add_parser("export-vectors", help="write a demo catalog's precomputed item vectors "
                           "(shipped in the package) from the current catalog and embedder")
    _domain_option(p)
    p.set_defaults(handler=cmd_index_export_vectors)

    p = sub.add_parser(
        "candidates", help="candidate items for a text or an InterestProfile JSON, with sources"
    )
    p.add_argument("query", help="request text, a profile as JSON, '@file.json', or '-' for standard input")
    p.add_argument("--k", type=int, default=300, help="how many candidates (default 300)")
    p.add_argument("--history", default="", help="comma-separated item ids the user had, oldest first")
    p.add_argument("--filter", default=None, help='extra filter as JSON, e.g. \'{"year": {"$gte": 1990}}\'')
    p.add_argument("--no-llm", action="store_true", help="extract the profile from text without the LLM")
    p.add_argument("--show", type=int, default=20, help="rows to print (default 20); --json prints all")
    p.add_argument("--json", action="store_true", help="print candidates as JSON lines")
    p.set_defaults(handler=cmd_candidates, text_to_profile=None)


def _domain_option(p) -> None:
    p.add_argument("--domain", default=None, help="the catalog ('books', ...: GET /v1/catalogs); default the first")


def domain_catalog(settings: Settings, domain: str | None):
    """The catalog serving `domain` (None: the first), with the item updates recorded for it.
    Raises `UnknownDomainError` naming the configured domains."""
    from recassist.foundation.catalog import catalog_domain, load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.foundation.errors import UnknownDomainError

    first = load_catalog_cached(str(settings.catalog_dir))
    if domain is None or domain == first.domain:
        return apply_updates(first, settings)  # + API item updates
    folders = {catalog_domain(f): f for f in settings.extra_catalog_dirs}
    if domain not in folders:
        raise UnknownDomainError(f"unknown domain '{domain}'; configured: {', '.join([first.domain, *folders])}")
    return apply_updates(load_catalog_cached(str(folders[domain])), settings, domain)


def register_commands(sub, eval_sub=None) -> None:
    """Hook used by the `recassist` command to add this component's commands."""
    add_index_commands(sub)


def cmd_index_build(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import build_index

    catalog = domain_catalog(settings, args.domain)
    report = build_index(catalog, settings, get_embedder(settings), progress=not args.quiet)
    print(
        f"index {report.mode}: {report.items} items in {report.where} "
        f"({report.upserted} written, {report.deleted} deleted, {report.seconds:.1f} s)"
    )
    return 0


def cmd_index_export_vectors(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from recassist.foundation.catalog import catalog_domain, load_catalog_cached
    from recassist.retrieval.documents import catalog_documents, document_hash
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.item_vectors import item_vectors
    from recassist.retrieval.shipped_vectors import SHIPPED_NAME, export

    # The folder as shipped, without API updates: the file ships with that folder.
    folders = {catalog_domain(f): Path(f) for f in (settings.catalog_dir, *settings.extra_catalog_dirs)}
    folder = Path(settings.catalog_dir) if args.domain is None else folders.get(args.domain)
    if folder is None:
        raise InputError(f"unknown domain '{args.domain}'; configured: {', '.join(folders)}")
    catalog = load_catalog_cached(str(folder))
    embedder = get_embedder(settings)
    _, vectors = item_vectors(catalog, settings, embedder, progress=True)
    hashes = [document_hash(d) for d in catalog_documents(catalog)[1]]
    size = export(hashes, vectors, embedder.name, folder / SHIPPED_NAME)
    print(f"wrote {len(hashes)} vectors ({embedder.name}) to {folder / SHIPPED_NAME} ({size / 1e6:.1f} MB)")
    return 0


def cmd_index_status(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.foundation.errors import StateMismatchError
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import check_manifest
    from recassist.retrieval.store import connect

    catalog = domain_catalog(settings, args.domain)
    store = connect(settings, catalog.name)
    manifest = store.manifest()
    print(f"store: {store.where}, collection {store.name}")
    print(json.dumps(manifest.__dict__ if manifest else None, indent=2))
    try:
        check_manifest(store, catalog, get_embedder(settings))
    except StateMismatchError as e:
        print(f"not usable: {e}")
        return 2
    print("ok: matches the configured catalog and embedding model")
    return 0


def cmd_candidates(args: argparse.Namespace, settings: Settings) -> int:
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates
    from recassist.retrieval.candidates import CandidateGenerator
    from recassist.retrieval.filters import parse_filter

    catalog = apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings)  # + API item updates
    gen = CandidateGenerator.open(settings, catalog)
    profile, text, how = read_query(args.query, settings, use_llm=not args.no_llm, text_to_profile=args.text_to_profile)
    flt = parse_filter(_json_arg(args.filter, "--filter"), catalog) if args.filter else None
    history = [h.strip() for h in args.history.split(",") if h.strip()]
    t0 = time.perf_counter()
    cands = gen.generate(profile, history=history, k=args.k, text=text, filter=flt)
    ms = (time.perf_counter() - t0) * 1000
    if args.json:
        for c in cands:
            print(
                json.dumps(
                    {
                        "item_id": c.item_id,
                        "label": catalog.items[c.item_id].label,
                        "sources": c.sources,
                        "scores": c.scores,
                        "score": c.score,
                    }
                )
            )
        return 0
    counts: dict[str, int] = {}
    for c in cands:
        for s in c.sources:
            counts[s] = counts.get(s, 0) + 1
    print(
        f"{len(cands)} candidates in {ms:.1f} ms ({how}); per source: "
        + ", ".join(f"{s} {n}" for s, n in counts.items())
    )
    print(f"{'#':>4}  {'item':<50} sources")
    for rank, c in enumerate(cands[: args.show], start=1):
        label = catalog.items[c.item_id].label
        srcs = ", ".join(f"{s} {c.scores[s]:.3g}" for s in c.sources)
        print(f"{rank:>4}  {label[:50]:<50} {srcs}")
    return 0


def read_query(query: str, settings: Settings, use_llm: bool = True, text_to_profile=None):
    """(profile or None, raw text or None, how it was read) from the `candidates` argument.

    JSON (inline, '@file' or '-') must be an `InterestProfile`; a malformed one raises
    `InputError` naming the field. Other text goes through `text_to_profile(text, settings,
    use_llm=...)` when one is given, and is also searched as raw text.
    """
    from pydantic import ValidationError
    from recassist.foundation.profile import InterestProfile

    raw = sys.stdin.read() if query == "-" else query
    if raw.startswith("@"):
        try:
            with open(raw[1:], encoding="utf-8") as f:
                raw = f.read()
        except OSError as e:
            raise InputError(f"cannot read {raw[1:]}: {e.strerror}") from None
    if raw.lstrip().startswith("{"):
        data = _json_arg(raw, "profile")
        try:
            return InterestProfile.model_validate(data), None, "profile JSON"
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(profile)"
            raise InputError(f"profile JSON, field '{where}': {err['msg']}") from None
    if text_to_profile is None:
        return None, raw, "raw text search"
    profile = text_to_profile(raw, settings, use_llm=use_llm)
    return profile, raw, "text -> extracted profile" + ("" if use_llm else " (no LLM)") + " + raw text search"


def _json_arg(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point, `python -m recassist.retrieval.cli ...`; same error mapping as `recassist`."""
    from recassist.foundation.cli_errors import run_command

    parser = argparse.ArgumentParser(prog="python -m recassist.retrieval.cli")
    add_index_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return run_command(lambda: args.handler(args, Settings()))


if __name__ == "__main__":
    raise SystemExit(main())
