"""Tests of the command line, allocate.cli, one file per command module."""
