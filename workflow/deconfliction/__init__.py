"""Deconfliction: finding the other units' work on the same target (issue 13).

`names` normalises names and files them under blocking keys; `matcher` scores names against names (a
plain function, for submission and for a subject-access search alike); `index` keeps every case's
target names and their keys in tables and records candidate links at submission; `decisions` is what
the confirm_link and dismiss_link triggers do (an event on both cases).
"""
