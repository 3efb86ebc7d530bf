"""omnitron-mock: a stateful emulator of Omnitron's order item bulk status update API."""

from mockserver.app import create_app
from mockserver.config import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings

__all__ = ["DEV_PASSWORD", "DEV_TOKEN", "DEV_USERNAME", "Settings", "create_app"]
