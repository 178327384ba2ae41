"""Which architecture fits a profile (length, data, budgets), from measured data in the store."""
