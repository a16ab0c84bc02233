"""The enumerations: the depth-first search tree over activation patterns, the
breakpoint engine for one input, gluing into linear regions, and the MILP baseline
and cross-check."""
