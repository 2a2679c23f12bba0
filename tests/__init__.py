"""The test suite: one package per package it tests (see README.md)."""
