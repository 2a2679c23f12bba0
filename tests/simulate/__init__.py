"""Tests of the simulate package, one file per module."""
