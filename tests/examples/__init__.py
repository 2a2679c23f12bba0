"""Tests that run the shipped examples as a user would."""
