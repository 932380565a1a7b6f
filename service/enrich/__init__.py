"""Enrichment: text normalisation, brand queries, language, negativity and the crisis lexicon."""
