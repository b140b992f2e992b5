"""Websocket routes."""
from django.urls import path

from .consumers import PlayConsumer

websocket_urlpatterns = [
    path("ws/play/", PlayConsumer.as_asgi()),
]
