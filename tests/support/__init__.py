"""Helpers the tests share that are not fixtures: external components the tests start for real."""
