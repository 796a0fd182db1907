"""The advisor: the guide's rules as data, applied to a user's answers or data file.

Imports nothing heavy (no torch, transformers or optuna): `advisor --help` and a
recommendation answer in well under a second.
"""
