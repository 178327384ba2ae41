"""Analysis over stored results: scaling exponents with intervals, crossovers."""

from seqarena.analysis.scaling import Crossover, SlopeFit, find_crossovers, fit_loglog

__all__ = ["Crossover", "SlopeFit", "find_crossovers", "fit_loglog"]
