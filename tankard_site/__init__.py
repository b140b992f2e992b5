"""The project package: settings, urls, ASGI routing and the Celery app."""
import os

# One BLAS thread per process: sentence embeddings are small matrices, and threads that fight the
# game's own for two cores made one embedding take 200-500 ms instead of about 10 (measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from .celery import app as celery_app

__all__ = ("celery_app",)
