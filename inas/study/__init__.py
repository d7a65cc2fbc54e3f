"""The study: the hub every stage shares. Search writes it; report, export and reproduce read it.

`storage` (SQLAlchemy URL, SQLite WAL, the search lock), `record` (the keys and states of a trial's
record, counts), `load` (opening a study by name or path), `frame` (one row a trial).
"""
