"""Running a count: the search tree split into subtrees, explored here, in local
processes or on dask, streamed to a certificate under limits and signals; and the
region listings built on it."""
