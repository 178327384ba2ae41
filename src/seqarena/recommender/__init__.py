"""Which architecture fits a profile (length, data, budgets), from measured data in the store.

>>> from seqarena.recommender import recommend
>>> rec = recommend(seq_len=50, train_sequences=5_000, latency_budget_ms=5)   # probes what the store lacks
>>> rec.top, rec.lines
"""

from seqarena.essay import DEFAULT_CANDIDATES
from seqarena.recommender.data_result import DataRecommendation
from seqarena.recommender.estimate import Estimate, Obs, estimate
from seqarena.recommender.on_data import DATA_CANDIDATES, recommend_data
from seqarena.recommender.profile import Profile, make_profile
from seqarena.recommender.rank import Ranked, Recommendation, recommend

__all__ = ["DATA_CANDIDATES", "DEFAULT_CANDIDATES", "DataRecommendation", "Estimate", "Obs", "Profile", "Ranked",
           "Recommendation", "estimate", "make_profile", "recommend", "recommend_data"]
