"""The library stage: a corpus becomes a library folder (vectors, BM25, sentences) and back.

    contents   what a built library holds, and its manifest
    build      embedding what the cache lacks, then indexing
    store      the folder on disk: the one place that writes and reads it
    lexical    BM25 over the papers' texts
    sentences  an abstract's sentence spans
"""
