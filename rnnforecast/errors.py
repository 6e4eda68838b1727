"""The one exception type for mistakes a user can fix."""


class UserError(Exception):
    """A problem in the user's config, data or command line.

    The message says what went wrong, where, and how to fix it; the CLI prints it
    without a traceback and exits with status 2.
    """


class Interrupted(Exception):
    """Training stopped by the user after a checkpoint; the message says how to resume."""


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def from_environment(exc: BaseException) -> UserError | None:
    """The UserError for a failure of the machine, not of the code: disk full, permissions, names, memory.

    Args:
        exc: any exception that reached the command line.

    Returns:
        A UserError naming the file (when the system said which), what happened and what to do;
        None when `exc` is not such a failure (then it is a bug).
    """
    import errno
    import os

    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return UserError(
            "the machine ran out of memory. Lower training.batch_size, the layers' units or window.input_length, "
            "or keep fewer rows (data.keep_last), then run the command again."
        )
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop"):  # pathlib's resolve() names the path
        return UserError(f"{str(exc).removeprefix('Symlink loop from ')} is a symbolic link that leads back to itself. "
                         "Replace it with the file it should point at, then run the command again.")
    if not isinstance(exc, OSError):
        return None
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ELOOP:
        return UserError(f"{where.strip() or 'a path'} is a symbolic link that leads back to itself (too many levels of "
                         "links). Replace it with the file it should point at, then run the command again.")
    if exc.errno == errno.EFBIG:
        return UserError(
            f"a file grew past this system's limit on file size while writing{where} (the shell's `ulimit -f`, or the "
            "file system's own largest file). Raise the limit or point run.dir or --output at another file system, "
            "and run the command again."
        )
    if disk_full(exc):
        return UserError(
            f"no space left on the device while writing{where}. Free some disk space (or point run.dir or "
            "--output at a disk with room) and run the command again."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"permission denied on{where or ' a file'}: {exc.strerror}. Check that you may read it and "
                         "write to its folder (ls -l), or choose a folder you can write to.")
    if exc.errno == errno.ENAMETOOLONG:
        return UserError(f"a file name is too long for this file system:{where}. Choose a shorter name.")
    if exc.errno == errno.ENOENT and exc.filename and os.path.isfile(exc.filename):
        # the file is there: what failed is the temporary file written beside it (/proc, /sys take no new files)
        return UserError(f"cannot write{where}: its folder takes no new files (a special file system such as /proc or "
                         "/sys?). Write to a file in a folder of your own.")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
        return UserError(f"{exc.strerror}:{where}. Check the path.")
    return None
