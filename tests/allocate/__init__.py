"""Tests of the allocate package, one file per module."""
