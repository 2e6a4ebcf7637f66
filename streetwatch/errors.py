"""Errors a user can cause and fix: the CLI prints them as one line, never a traceback."""


class StreetwatchError(Exception):
    """Base class for every error caused by input the user controls (files, configs, flags)."""


class InputError(StreetwatchError, ValueError):
    """A file, flag or value is not what was expected. The message says what was expected and what came."""


class ModelError(StreetwatchError):
    """A model file is missing, corrupt, not a detector, or fails its checksum."""


class ConfigError(StreetwatchError):
    """A configuration file is malformed or inconsistent."""
