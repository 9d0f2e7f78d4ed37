"""Trading strategies: triangular arbitrage over the pair graph and statistical arbitrage."""
