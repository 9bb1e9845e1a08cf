"""Determined multichannel blind source separation: as many microphones as sources (AuxIVA, ILRMA, FastMNMF2)."""
