"""Tests of arbitrade.strategy."""
