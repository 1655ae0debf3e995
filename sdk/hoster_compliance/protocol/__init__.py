"""The wire: signatures, schemas in and out, regimes, categories, callback messages."""
