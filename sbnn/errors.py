"""Typed errors that the CLI turns into one-line messages and a non-zero exit code.

Every failure a user can cause (bad input, missing files, missing tools) raises a subclass of
:class:`SbnnError`; anything else is a bug and keeps its traceback.
"""


class SbnnError(Exception):
    """Base class: the message is shown to the user as is, on one line."""

    exit_code = 2


class ConfigError(SbnnError):
    """A configuration value or command-line option is invalid."""


class DataError(SbnnError):
    """A data set is unknown, missing, corrupted or cannot be downloaded."""


class CheckpointError(SbnnError):
    """A checkpoint is missing, corrupted or incompatible with the requested run."""


class ExportError(SbnnError):
    """A model cannot be exported or lowered to the hardware IR."""


class IRError(SbnnError):
    """An IR file is malformed, of an unknown version, or inconsistent."""


class HardwareError(SbnnError):
    """A design cannot be generated or does not fit the target device."""


class ToolNotFound(SbnnError):
    """An external tool (Verilator, Yosys, Vivado, ...) is not installed (one that ran and failed or timed out
    raises :class:`sbnn.tools.ToolError` / :class:`sbnn.tools.ToolTimeout`, also SbnnErrors)."""


class StageNotAvailable(SbnnError):
    """A pipeline stage that this version of sbnn does not implement yet."""

    exit_code = 3
