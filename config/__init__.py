"""Typed settings for hpf-kiosk: schema, loader and shipped profiles. Imports nothing of the project."""
from config.schema import Settings
from config.loader import ConfigError, Problem, load_settings, available_profiles

__all__ = ["Settings", "ConfigError", "Problem", "load_settings", "available_profiles"]
