"""User-facing errors: each carries one clear line and the exit code the CLI returns."""


class CuratorError(Exception):
    """An error the user can act on; the CLI prints `curator: error: <message>` and exits."""

    exit_code = 1


class ManifestError(CuratorError):
    """The manifest (or a file it names) is wrong; nothing has started yet."""

    exit_code = 2


class EnvironmentProblem(CuratorError):
    """The machine lacks something the run needs (Java, a model file)."""

    exit_code = 3


class AccountingError(CuratorError):
    """A phase lost or invented documents or tokens: the run's output cannot be trusted."""

    exit_code = 4
