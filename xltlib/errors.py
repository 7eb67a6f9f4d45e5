"""Errors a user can act on. Each message names the file/dataset/field at fault and what would be valid;
the CLI prints the message alone, without a traceback."""


class XltError(Exception):
    """Base class: an error whose message is meant for the user as it is."""


class DataUnavailableError(XltError):
    """A dataset (or model) is neither in the local cache nor reachable, or has no such config/split."""


class NoSourceError(DataUnavailableError):
    """No source holds this task in this language and split (e.g. UD v2.7 languages are not on the Hub):
    a study lists it as missing, with this message, and goes on."""


class SchemaError(XltError):
    """A data source lacks columns/fields that its task's schema needs."""


class MalformedDataError(XltError):
    """A row is unusable and the malformed-row policy is ``"raise"``."""


class ConfigError(XltError, ValueError):
    """A bad value in a configuration: names the field, the value and the valid choices."""
