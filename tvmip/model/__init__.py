"""The network as tvmip reads it: exact records, loading, evaluation, and the
network scaled once to integer rows (the form every later stage computes with)."""
