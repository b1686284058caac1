"""The method itself, as plain functions and small policies; no LangGraph inside.

The graph's nodes are thin adapters over these modules: `evaluation` (student -> verifier over
examples), `stats` (intervals and exact paired tests), `acceptance` (is a candidate rule good
enough), `selection` (which mistakes the teacher sees), `stopping` (when the loop ends).
"""
