"""Deploying the runwatch dashboard itself to Cloud Run: ``python3 -m deploy --help``.

Standard library only, so ``make deploy ... DRY_RUN=1`` runs with any Python 3.11 and without
the Google Cloud CLI. ``serve.py`` is the container's entry point (see the Dockerfile).
"""
