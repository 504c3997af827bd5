"""User-facing errors: each carries one clear line and the exit code the CLI returns.

Exit codes (also in `curator --help`): 0 done; 1 an unexpected failure (a bug: the traceback
is printed); 2 a wrong manifest or input (ManifestError, InputError), nothing started or
the run stopped before writing a wrong result; 3 the machine (EnvironmentProblem: Java, a
model file, a full or read-only disk, permissions); 4 the accounting does not add up
(AccountingError: the output cannot be trusted); 130 interrupted.
"""


class CuratorError(Exception):
    """An error the user can act on; the CLI prints `curator: error: <message>` and exits."""

    exit_code = 1


class ManifestError(CuratorError):
    """The manifest (or a file it names) is wrong; nothing has started yet."""

    exit_code = 2


class InputError(ManifestError):
    """An input path or file is wrong (no file matches, not readable as what the source says);
    a ManifestError too, so code that catches those keeps catching it."""

    exit_code = 2


class EnvironmentProblem(CuratorError):
    """The machine lacks something the run needs (Java, a model file)."""

    exit_code = 3


class AccountingError(CuratorError):
    """A phase lost or invented documents or tokens: the run's output cannot be trusted."""

    exit_code = 4


EXIT_CODES = {
    0: "done",
    1: "unexpected failure (a bug; the traceback is printed)",
    2: "the manifest or an input is wrong (ManifestError, InputError)",
    3: "the machine lacks something: Java, a model file, disk space, permission (EnvironmentProblem)",
    4: "documents or tokens do not add up; do not trust the output (AccountingError)",
    130: "interrupted (re-run the same command to resume)",
}
