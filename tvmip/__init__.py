"""tvmip: exact, certified activation- and linear-region counts of small ReLU networks."""

__version__ = "0.1.0"
