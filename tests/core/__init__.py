"""Tests of sepkit.core (a package so test module names cannot clash with other test folders)."""
