"""Tests of the simulate package, one file per module; shared cohorts in conftest.py."""
