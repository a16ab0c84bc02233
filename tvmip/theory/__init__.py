"""Lower and upper bounds on linear regions, the constructions that meet them, and
the certified proofs/ collection."""
