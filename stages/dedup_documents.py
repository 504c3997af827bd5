"""Whole-document dedup in its order: URL, exact, MinHash, each among the run's documents and
then, with `dedup.against` indexes, against the released ones (stages/dedup_prior.py).

One function for the pipeline's dedup phase and for anything that must dedup as it does (the
tests and benchmarks/incremental.py compare an incremental run with a combined one)."""

from __future__ import annotations

import pyarrow as pa


def dedup_documents(df, dedup, arrow_schema: pa.Schema, prior=()):
    """(`df` with duplicates marked, the FuzzyResult or None). `df`: the kept rows entering
    dedup; `arrow_schema`: their Arrow schema; `prior`: opened indexes (curator/dedup_index.py)."""
    from stages import dedup_prior

    if prior:
        df = dedup_prior.with_prior_columns(df)
        from curator.schema import with_columns

        arrow_schema = with_columns(arrow_schema, {c: pa.string() for c in (dedup_prior.PRIOR_ID, dedup_prior.PRIOR_INDEX)})
    if dedup.url:
        from stages.dedup_url import dedup_url

        df = dedup_url(df)
        if prior:
            df = dedup_prior.url_prior(df, prior)
    if dedup.exact:
        from stages.dedup_exact import dedup_exact

        df = dedup_exact(df, arrow_schema)
        if prior:
            df = dedup_prior.exact_prior(df, prior)
    fuzzy = None
    if dedup.minhash is not None:
        from stages.connected_components import cut_lineage
        from stages.dedup_fuzzy import dedup_fuzzy

        # MinHash reads its input three times (signatures, candidate texts, the marked output):
        # materialised once, URL and exact dedup and their index joins run once, not three times
        df = cut_lineage(df, df.sparkSession.sparkContext.getCheckpointDir() is not None)
        fuzzy = dedup_fuzzy(df, dedup.minhash, prior=prior)
        df = fuzzy.df
    return df, fuzzy
