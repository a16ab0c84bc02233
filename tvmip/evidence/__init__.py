"""Exact evidence about polyhedra of strict inequalities: the floating-point LP
oracle (hints only), exact witnesses and Motzkin multipliers, the search node's
polyhedron, and vertex hints.  Nothing here decides a claim on a float."""
