"""sessnap: crash recovery for a program's session state, on libsessnap.

A program opens a :class:`Store` (one directory per application), begins a
:class:`Session` for its run and hands it its state, any JSON-serializable
value, whenever the state changes.  libsessnap writes the state off the
program's thread, durably and atomically (temporary file, fsync, rename,
fsync of the directory, the previous generation kept as ``<id>.snap.prev``).
On the next start the program scans the store for sessions whose owner
died, and adopts one::

    import sessnap

    with sessnap.Store("notes") as store:
        crashed = store.scan(recoverable=True)
        if crashed:
            session, notes = store.adopt(crashed[0].id)
        else:
            session, notes = store.begin(label="notes"), []
        for line in sys.stdin:
            notes.append(line)
            session.update(notes)
        session.end()

States cross into the library as JSON text: :meth:`Session.update` runs
``json.dumps`` on the calling thread and hands the bytes to
``sessnap_session_update_text``; loads come back through
``sessnap_store_load_text`` and ``json.loads``.  No json-c object is involved.

A program that knows what changed hands over only that:
:meth:`Session.patch` takes JSON Patch style operations (``add``,
``replace``, ``remove`` at a JSON Pointer), and the library applies them
to its own copy of the state on the writer's side; :func:`pointer` builds
an escaped pointer from keys and indexes.

Threads: every call into the library that can wait on the disk releases the
GIL (cffi does so for every call through its ``lib`` object); the library's
callbacks into Python (log, migrate, validate, the cleaner's events)
reacquire it.  A store may be used from several threads; a session belongs
to one thread at a time.

Errors are exceptions: :class:`SessnapError` and one subclass per error
family of the library (:class:`Busy`, :class:`Corrupt`,
:class:`NewerFormat`, :class:`NoSpace`, ...), each carrying the library's
``code``, ``name`` and detailed ``message``.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Tuple, \
    Type, Union

from ._sessnap import ffi, lib

__all__ = [
    "Store", "Session", "SessionInfo", "Owner", "LoadInfo", "Loaded",
    "Generation",
    "SaveStatus", "CleanPolicy", "CleanEvent", "CleanReport",
    "PromptResult", "Status", "Durability", "PromptAnswer",
    "FallbackWarning", "SessnapError", "InvalidArgument", "OutOfMemory",
    "IOFailure", "NoSpace", "PermissionDenied", "UnsafeStore", "NotFound",
    "Busy", "Corrupt", "NewerFormat", "TooBig", "BadName", "InvalidState",
    "DurabilityUnknown", "Rejected", "MigrationFailed", "Foreign", "NoState",
    "Pending", "Fenced", "PatchFailed", "pointer", "escape_token",
    "default_dir", "ID_LEN", "FORMAT_VERSION", "__version__",
]

__version__ = "0.1.0"

#: Length of a session id (32 lowercase hex digits).
ID_LEN: int = lib.SESSNAP_ID_LEN
#: The on-disk format version this library writes.
FORMAT_VERSION: int = lib.SESSNAP_FORMAT_VERSION

_log = logging.getLogger("sessnap")

# ---- Errors -----------------------------------------------------------------


class SessnapError(Exception):
    """A failure reported by libsessnap.

    Attributes:
        code: the library's negative ``SESSNAP_E*`` code.
        name: its symbolic name (``"SESSNAP_EBUSY"``).
        message: the detailed message (file, step, cause).
        short: the same in one short line, without advice, for a status
            bar or a log line (``sessnap_error_last_short()``).
    """

    code: int
    name: str
    message: str
    short: str

    def __init__(self, code: int, message: str, short: str = "") -> None:
        self.code = code
        self.name = ffi.string(lib.sessnap_error_name(code)).decode()
        self.message = message
        self.short = short
        super().__init__(message or
                         ffi.string(lib.sessnap_error_string(code)).decode())


class InvalidArgument(SessnapError, ValueError):
    """SESSNAP_EINVAL: an invalid argument (a state that is not JSON...)."""


class OutOfMemory(SessnapError, MemoryError):
    """SESSNAP_ENOMEM: out of memory."""


class IOFailure(SessnapError, OSError):
    """SESSNAP_EIO: an input/output error."""


class NoSpace(SessnapError, OSError):
    """SESSNAP_ENOSPC: no space left on the device, or a quota or file
    size limit was reached."""


class PermissionDenied(SessnapError, PermissionError):
    """SESSNAP_EPERM: permission denied."""


class UnsafeStore(SessnapError):
    """SESSNAP_EUNSAFE: the store directory is not safe to use (a
    symlink, another owner, writable by others)."""


class NotFound(SessnapError, LookupError):
    """SESSNAP_ENOTFOUND: no such session (or store)."""


class Busy(SessnapError):
    """SESSNAP_EBUSY: the session is in use by a live process (or, on a
    shared store, another host's lease on it is fresh)."""


class Corrupt(SessnapError):
    """SESSNAP_ECORRUPT: no usable snapshot (both generations bad)."""


class NewerFormat(SessnapError):
    """SESSNAP_ENEWER: written by a newer format version (never treated
    as corrupt)."""


class TooBig(SessnapError):
    """SESSNAP_ETOOBIG: over the store's read bound."""


class BadName(SessnapError, ValueError):
    """SESSNAP_EBADNAME: an invalid application name or session id."""


class InvalidState(SessnapError):
    """SESSNAP_ESTATE: not valid now (ended, read-only, forked child)."""


class DurabilityUnknown(SessnapError):
    """SESSNAP_EDURABILITY: saved, but the directory fsync failed."""


class Rejected(SessnapError):
    """SESSNAP_EREJECTED: every generation was rejected by the
    validation function."""


class MigrationFailed(SessnapError):
    """SESSNAP_EMIGRATE: the migration function failed."""


class Foreign(SessnapError):
    """SESSNAP_EFOREIGN: the session belongs to another host that renews
    no lease on it (one whose lease expired can be adopted)."""


class NoState(SessnapError):
    """SESSNAP_ENOSTATE: the session has no state yet."""


class Pending(SessnapError):
    """SESSNAP_EPENDING: work is still pending."""


class Fenced(SessnapError):
    """SESSNAP_EFENCED: another host took the session over."""


class PatchFailed(SessnapError):
    """SESSNAP_EPATCH: a patch does not apply to the session's state (its
    target is missing, an index is out of range).  Reported by
    :meth:`Session.status` when the writer applies the batch; the session
    keeps its last good state until the next full update."""


# The library's error table, code by code, to one class per family.
_CLASSES: Dict[int, Type[SessnapError]] = {
    lib.SESSNAP_EINVAL: InvalidArgument,
    lib.SESSNAP_ENOMEM: OutOfMemory,
    lib.SESSNAP_EIO: IOFailure,
    lib.SESSNAP_ENOSPC: NoSpace,
    lib.SESSNAP_EPERM: PermissionDenied,
    lib.SESSNAP_EUNSAFE: UnsafeStore,
    lib.SESSNAP_ENOTFOUND: NotFound,
    lib.SESSNAP_EBUSY: Busy,
    lib.SESSNAP_ECORRUPT: Corrupt,
    lib.SESSNAP_ENEWER: NewerFormat,
    lib.SESSNAP_ETOOBIG: TooBig,
    lib.SESSNAP_EBADNAME: BadName,
    lib.SESSNAP_ESTATE: InvalidState,
    lib.SESSNAP_EDURABILITY: DurabilityUnknown,
    lib.SESSNAP_EREJECTED: Rejected,
    lib.SESSNAP_EMIGRATE: MigrationFailed,
    lib.SESSNAP_EFOREIGN: Foreign,
    lib.SESSNAP_ENOSTATE: NoState,
    lib.SESSNAP_EPENDING: Pending,
    lib.SESSNAP_EFENCED: Fenced,
    lib.SESSNAP_EPATCH: PatchFailed,
}


def _error(code: int) -> SessnapError:
    """The exception for a negative code, with the thread's message."""
    msg = ffi.string(lib.sessnap_error_last()).decode(errors="replace")
    short = ffi.string(lib.sessnap_error_last_short()).decode(
        errors="replace")
    return _CLASSES.get(code, SessnapError)(code, msg, short)


def _check(rc: int) -> int:
    if rc < 0:
        raise _error(rc)
    return rc


class FallbackWarning(UserWarning):
    """Issued when a load used the previous generation (``.prev``) because
    the main snapshot was missing, damaged or rejected."""


# ---- Enums and records --------------------------------------------------------


class Durability(enum.IntEnum):
    """How much a save waits for the disk."""

    #: fsync the file and the directory (the default)
    FULL = lib.SESSNAP_DURABILITY_FULL
    #: fsync the file only
    FILE = lib.SESSNAP_DURABILITY_FILE
    #: no fsync (tests, tmpfs)
    NONE = lib.SESSNAP_DURABILITY_NONE


class Status(str, enum.Enum):
    """A session's classification by the scanner."""

    RUNNING = "running"
    CRASHED = "crashed"
    COMPLETED = "completed"
    FOREIGN = "foreign"
    NEWER = "newer"
    CORRUPT = "corrupt"


class PromptAnswer(enum.IntEnum):
    """What the user answered at the recovery prompt."""

    NOTHING = lib.SESSNAP_PROMPT_NOTHING
    RESTORE = lib.SESSNAP_PROMPT_RESTORE
    LATER = lib.SESSNAP_PROMPT_LATER
    DISCARDED = lib.SESSNAP_PROMPT_DISCARDED
    DEFAULT = lib.SESSNAP_PROMPT_DEFAULT


def _key_bytes(key: Union[str, bytes, None]) -> Optional[bytes]:
    """A session key as the library takes it: bytes (a str is encoded
    with os.fsencode, so a path round-trips).  None for no key."""
    if key is None:
        return None
    b = os.fsencode(key) if isinstance(key, str) else bytes(key)
    if not b:
        raise ValueError("a session key must not be empty")
    return b


def _str(chars: Any) -> str:
    return ffi.string(chars).decode(errors="replace")


@dataclass(frozen=True)
class Owner:
    """Who wrote a snapshot."""

    pid: int
    host: str
    boot_id: str
    start_time: int

    @classmethod
    def _of(cls, o: Any) -> "Owner":
        return cls(o.pid, _str(o.host), _str(o.boot_id), o.start_time)


@dataclass(frozen=True)
class SessionInfo:
    """One session as the scanner sees it (from its header only).

    Times are milliseconds since the epoch (UTC), 0 when unknown.
    """

    id: str
    status: Status
    #: the main snapshot was unusable: this came from ``.prev``
    from_prev: bool
    label: Optional[str]
    created_ms: int
    saved_ms: int
    seq: int
    adoptions: int
    format_version: int
    schema_version: int
    owner: Owner
    payload_bytes: int
    file_bytes: int
    mtime_ms: int
    #: a file of the session is not a regular file (a FIFO, a directory,
    #: a symlink...): the session is corrupt and nothing removes it
    not_regular: bool = False
    #: the snapshot is larger than the store's read bound: its header is
    #: valid, but loading its state is refused (raise ``read_bound``)
    too_big: bool = False
    #: a file of the session could not be read (EIO, EACCES...)
    unreadable: bool = False
    #: the session's key, exactly as given at begin, or None
    key: Optional[bytes] = None
    #: the generation the header came from: 0 for ``<id>.snap``, 1 for
    #: ``.prev``, N for ``<id>.snap.N`` (a store that keeps several)
    generation: int = 0
    #: another host took the session over (status completed): its state
    #: goes on in the session that ``<id>.claim`` names
    taken_over: bool = False
    #: the lease of a session of another host (or of this host name in
    #: another boot), judged by the file server's clock: its age in
    #: milliseconds; None when none was judged (a session of this host,
    #: no lease, an age that could not be read, or a library too old to
    #: report leases)
    lease_age_ms: Optional[int] = None
    #: that lease's period in milliseconds, None when no lease was seen
    lease_period_ms: Optional[int] = None
    #: that lease's renewal counter, None when no lease was seen
    lease_renewals: Optional[int] = None

    @property
    def key_str(self) -> Optional[str]:
        """The key as text, when it decodes as UTF-8 (else None)."""
        if self.key is None:
            return None
        try:
            return self.key.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class LoadInfo:
    """What a load found."""

    from_prev: bool
    migrated: bool
    seq: int
    schema_version: int
    adoptions: int
    created_ms: int
    saved_ms: int
    completed: bool
    owner: Owner
    label: str
    #: after a fallback: why the main snapshot was skipped
    notice: str
    #: the session's key, or None
    key: Optional[bytes] = None
    #: the generation loaded: 0 for ``<id>.snap``, 1 for ``.prev``, N for
    #: ``<id>.snap.N``; above 0 a :class:`FallbackWarning` was issued
    generation: int = 0

    @classmethod
    def _of(cls, i: Any) -> "LoadInfo":
        key = bytes(ffi.buffer(i.key, i.key_len)) if i.key_len else None
        return cls(bool(i.flags & lib.SESSNAP_LOAD_FROM_PREV),
                   bool(i.flags & lib.SESSNAP_LOAD_MIGRATED), i.seq,
                   i.schema_version, i.adoptions, i.created_ms, i.saved_ms,
                   bool(i.completed), Owner._of(i.owner),
                   _str(i.label) if i.label != ffi.NULL else "",
                   _str(i.notice), key, i.generation)


@dataclass(frozen=True)
class Generation:
    """One generation of a session on disk (:meth:`Store.generations`)."""

    #: 0 for ``<id>.snap``, 1 for ``.prev``, N for ``<id>.snap.N``
    generation: int
    #: 0 when it is complete and its checksum holds, else the library's
    #: error code (corrupt, newer format, too big, a read error)
    verdict: int
    #: why, in words, when ``verdict`` is not 0
    reason: str
    seq: int
    saved_ms: int
    file_bytes: int

    @property
    def ok(self) -> bool:
        """Whether the generation is complete and its checksum holds."""
        return self.verdict == 0

    @property
    def error(self) -> Optional[Type[SessnapError]]:
        """The exception class of the verdict (:class:`Corrupt`,
        :class:`NewerFormat`, :class:`TooBig`...), None when it is ok."""
        if self.verdict == 0:
            return None
        return _CLASSES.get(self.verdict, SessnapError)


@dataclass(frozen=True)
class Loaded:
    """A loaded state and what the load found."""

    state: Any
    info: LoadInfo


@dataclass(frozen=True)
class SaveStatus:
    """How saving a session goes (:meth:`Session.status`)."""

    last_error: int
    last_message: str
    pending: bool
    failures: int
    retry_in_ms: int
    durable_age_ms: int
    seq: int
    saves: int
    skips: int
    #: 0, or the library's code of the last write of the session's lease
    #: (a store with leases: its first write, then each renewal); the
    #: next write that works clears it.  Apart from ``last_error``: the
    #: saves may work while the lease does not, and once the lease is
    #: older than 3 periods plus 2 s other hosts may take the session
    #: over (its saves then raise :class:`Fenced`).
    lease_error: int = 0
    #: the message of ``lease_error`` ("" when it is 0)
    lease_message: str = ""
    #: consecutive failed writes of the lease
    lease_failures: int = 0
    #: the lease period in milliseconds, None when the session renews no
    #: lease
    lease_period_ms: Optional[int] = None
    #: milliseconds since the lease was last written successfully, None
    #: when there is no lease or no write of it has worked yet
    lease_age_ms: Optional[int] = None

    @property
    def lease_failing(self) -> bool:
        """Whether the last write of the session's lease failed."""
        return self.lease_error != 0


@dataclass
class CleanPolicy:
    """What :meth:`Store.clean` removes.  Ages in seconds; ``None`` means
    never remove that kind."""

    completed_age: Optional[float] = 7 * 86400
    crashed_age: Optional[float] = 30 * 86400
    temp_age: Optional[float] = 3600
    #: never remove the ``keep`` newest sessions
    keep: int = 0
    dry_run: bool = False
    #: also remove corrupt sessions older than ``completed_age``
    include_corrupt: bool = False
    #: the current time in seconds since the epoch (None: the clock)
    now: Optional[float] = None


@dataclass(frozen=True)
class CleanEvent:
    """One decision of the cleaner."""

    name: str
    id: str
    #: "removed-completed", "kept-running", ... (as snapshot-clean --json)
    action: str
    #: 0 "snapshot", 1 "prev", 2 "lock", 3 "temp"
    file: int
    error: int
    bytes: int
    age_ms: int
    dry_run: bool


@dataclass(frozen=True)
class CleanReport:
    """What :meth:`Store.clean` did, and each decision."""

    removed_completed: int
    removed_crashed: int
    removed_corrupt: int
    removed_temp: int
    removed_lock: int
    kept_running: int
    kept_young: int
    kept_newest: int
    kept_newer: int
    kept_corrupt: int
    kept_foreign: int
    skipped_unsafe: int
    failed: int
    files_removed: int
    bytes_freed: int
    events: List[CleanEvent] = field(default_factory=list)
    #: the first failed removal, when some failed (the others were done)
    error: Optional[SessnapError] = None


@dataclass(frozen=True)
class PromptResult:
    """The recovery prompt's outcome: the answer and, for
    :attr:`PromptAnswer.RESTORE`, the chosen session's id."""

    answer: PromptAnswer
    id: Optional[str]


# ---- JSON at the boundary ---------------------------------------------------


def _dumps(value: Any) -> bytes:
    # NaN and Infinity are not JSON: refuse them here, with Python's own
    # error, rather than in the library.
    return json.dumps(value, separators=(",", ":"),
                      allow_nan=False).encode()


# ---- JSON Pointer and patches ------------------------------------------------


def escape_token(token: Union[str, int]) -> str:
    """One reference token of a JSON Pointer (RFC 6901): ``~`` becomes
    ``~0`` and ``/`` becomes ``~1``, so that any object key can be
    addressed.  An int (an array index) is written in decimal."""
    if isinstance(token, bool) or not isinstance(token, (str, int)):
        raise TypeError(f"a pointer token is a str or an int, not "
                        f"{type(token).__name__}")
    if isinstance(token, int):
        if token < 0:
            raise ValueError(f"an array index is not negative: {token}")
        return str(token)
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: Union[str, int]) -> str:
    """The JSON Pointer of a path of keys and indexes, each escaped:
    ``pointer("tabs", 3)`` is ``"/tabs/3"``, ``pointer("a/b", "~")`` is
    ``"/a~1b/~0"``, ``pointer()`` is ``""`` (the whole state) and
    ``pointer("rows", "-")`` appends to an array (for ``"add"``)."""
    return "".join("/" + escape_token(t) for t in tokens)


_PATCH_KINDS = {"add": lib.SESSNAP_PATCH_ADD,
                "replace": lib.SESSNAP_PATCH_REPLACE,
                "remove": lib.SESSNAP_PATCH_REMOVE}
_MISSING = object()


def _patch_op(i: int, op: Any) -> Tuple[int, bytes, Optional[bytes]]:
    """One operation as (kind, pointer bytes, JSON text or None)."""
    if isinstance(op, dict):
        name = op.get("op")
        path = op.get("path", _MISSING)
        value = op.get("value", _MISSING)
    elif isinstance(op, (tuple, list)) and 2 <= len(op) <= 3:
        name, path = op[0], op[1]
        value = op[2] if len(op) == 3 else _MISSING
    else:
        raise TypeError(f"patch operation {i}: a dict "
                        f"{{'op': ..., 'path': ..., 'value': ...}} or a "
                        f"tuple (op, path[, value]), not {op!r}")
    kind = _PATCH_KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"patch operation {i}: op {name!r} is not one of "
                         f"'add', 'replace', 'remove'")
    if path is _MISSING:
        raise ValueError(f"patch operation {i} ({name}): no 'path'")
    if isinstance(path, (tuple, list)):
        path = pointer(*path)
    elif not isinstance(path, str):
        raise TypeError(f"patch operation {i} ({name}): the path is a JSON "
                        f"Pointer (str) or a sequence of keys and indexes, "
                        f"not {type(path).__name__}")
    if kind == lib.SESSNAP_PATCH_REMOVE:
        if isinstance(op, (tuple, list)) and value is not _MISSING:
            raise ValueError(f"patch operation {i} (remove {path!r}): "
                             f"remove takes no value")
        return kind, path.encode(), None
    if value is _MISSING:
        raise ValueError(f"patch operation {i} ({name} {path!r}): no "
                         f"'value'")
    try:
        text = _dumps(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"patch operation {i} ({name} {path!r}): "
                        f"{exc}") from exc
    return kind, path.encode(), text


def _text(ptr: Any, length: int) -> Any:
    try:
        return json.loads(ffi.unpack(ptr, length))
    finally:
        lib.free(ptr)


# ---- Callbacks from the library -----------------------------------------------

_LEVELS = {lib.SESSNAP_LOG_DEBUG: logging.DEBUG,
           lib.SESSNAP_LOG_INFO: logging.INFO,
           lib.SESSNAP_LOG_WARNING: logging.WARNING,
           lib.SESSNAP_LOG_ERROR: logging.ERROR}


@ffi.def_extern(onerror=lambda *exc: None)
def _log_cb(level: int, message: Any, payload: Any) -> None:
    store = ffi.from_handle(payload)
    text = _str(message)
    if store._log_fn is not None:
        store._log_fn(_LEVELS.get(level, logging.INFO), text)
    else:
        _log.log(_LEVELS.get(level, logging.INFO), "%s", text)


# The migrate and validate callbacks run inside a library call, on its
# thread: an exception they raise is kept on the store for that thread and
# chained to the error that the call then returns (Store._call).


@ffi.def_extern(error=1)
def _migrate_cb(state: Any, state_len: Any, from_version: int,
                to_version: int, payload: Any) -> int:
    store = ffi.from_handle(payload)
    try:
        value = json.loads(ffi.unpack(state[0], state_len[0]))
        new = _dumps(store._migrate(value, from_version, to_version))
    except Exception as exc:
        store._tls.error = exc
        return 1
    buf = lib.malloc(max(len(new), 1))
    if buf == ffi.NULL:
        return 1
    ffi.memmove(buf, new, len(new))
    lib.free(state[0])
    state[0] = ffi.cast("char *", buf)
    state_len[0] = len(new)
    return 0


@ffi.def_extern(error=1)
def _validate_cb(state: Any, state_len: int, schema_version: int,
                 payload: Any) -> int:
    store = ffi.from_handle(payload)
    try:
        value = json.loads(ffi.unpack(state, state_len))
        return 0 if store._validate(value, schema_version) else 1
    except Exception as exc:
        # An exception rejects the generation, as a false result does.
        store._tls.error = exc
        return 1


@ffi.def_extern(onerror=lambda *exc: None)
def _clean_cb(event: Any, payload: Any) -> None:
    events = ffi.from_handle(payload)
    events.append(CleanEvent(
        _str(event.name), _str(event.id),
        _str(lib.sessnap_clean_action_name(event.action)), int(event.file),
        event.error, event.bytes, event.age_ms, bool(event.dry_run)))


# ---- Store ------------------------------------------------------------------


def default_dir(app: str) -> str:
    """The default store directory of ``app``
    (``$XDG_STATE_HOME/sessnap/<app>``), without opening it."""
    out = ffi.new("char **")
    _check(lib.sessnap_store_default_dir(out, app.encode()))
    try:
        return ffi.string(out[0]).decode()
    finally:
        lib.free(out[0])


class Store:
    """An open store directory (a context manager: ``with Store(...)``).

    Args:
        app: the application name ([A-Za-z0-9._-], no leading dot).
        dir: the store directory; None: :func:`default_dir` of ``app``.
        durability: :class:`Durability` of saves.
        interval: autosave interval in seconds (None: the library's 15 s).
        read_bound: the largest snapshot file read, in bytes (None:
            256 MiB).
        schema_version: the program's current state schema version.
        migrate: ``migrate(state, from_version, to_version) -> state``,
            called when a loaded state has an older schema version.
        validate: ``validate(state, schema_version) -> bool``; a main
            snapshot it rejects falls back to the previous generation.
        log: ``log(level, message)`` with a :mod:`logging` level; None
            logs to the ``"sessnap"`` logger.  It may run on the library's
            writer thread.
        readonly: for listing, loading and cleaning only.
        create: create the directory when missing (mode 0700).
        thread: run the library's writer thread (False: saves happen in
            :meth:`Session.save`, :meth:`Session.flush` and :meth:`tick`).
        generations: how many older generations of each session to keep
            besides the newest (1: ``.prev``; at most
            ``SESSNAP_GENERATIONS_MAX``); a load takes the newest one that
            passes its checksum and ``validate``.
        shared: whether several hosts share the store.  True
            (``SESSNAP_STORE_SHARED``): its sessions renew a lease, so
            that another host can tell a running session from a crashed
            one, whatever the file system.  False
            (``SESSNAP_STORE_LOCAL``): this host alone uses it, even on a
            network file system: no lease is written, and other hosts'
            sessions stay foreign.  None (the default): leases are on
            when the store is on a network file system (NFS, SMB, 9P,
            Ceph, FUSE...).
        lease_period_ms: the lease period in milliseconds when leases
            are on (None: the library's 10000; at least 10).  Each running
            session rewrites its lock record once per period; another
            host calls it crashed once its lease is older than 3 periods
            plus 2 seconds.
    """

    def __init__(self, app: str, dir: Optional[str] = None, *,
                 durability: Durability = Durability.FULL,
                 interval: Optional[float] = None,
                 read_bound: Optional[int] = None,
                 schema_version: int = 0,
                 migrate: Optional[Callable[[Any, int, int], Any]] = None,
                 validate: Optional[Callable[[Any, int], bool]] = None,
                 log: Optional[Callable[[int, str], None]] = None,
                 readonly: bool = False, create: bool = True,
                 thread: bool = True, generations: int = 1,
                 shared: Optional[bool] = None,
                 lease_period_ms: Optional[int] = None) -> None:
        self._h: Any = ffi.NULL
        self._migrate = migrate
        self._validate = validate
        self._log_fn = log
        # A callback's exception, per thread: the callbacks run on the
        # thread of the load that calls them.
        self._tls = threading.local()
        self._self_handle = ffi.new_handle(self)
        opts = ffi.new("sessnap_store_options *")
        _check(lib.sessnap_store_options_init(
            opts, lib.SESSNAP_STORE_OPTIONS_VERSION))
        app_b = ffi.new("char[]", app.encode())
        dir_b = ffi.new("char[]", os.fsencode(dir)) if dir else ffi.NULL
        opts.app = app_b
        opts.dir = dir_b
        opts.durability = int(durability)
        if interval is not None:
            if interval <= 0:
                raise ValueError("interval must be positive")
            opts.autosave_interval_ms = max(1, int(interval * 1000))
        if read_bound is not None:
            opts.read_bound = read_bound
        opts.schema_version = schema_version
        opts.generations = generations
        if lease_period_ms is not None:
            if isinstance(lease_period_ms, bool) or \
                    not isinstance(lease_period_ms, int):
                raise TypeError("lease_period_ms must be an int")
            if not 0 < lease_period_ms <= 0xffffffff:
                raise ValueError("lease_period_ms must be a positive "
                                 "number of milliseconds")
            # A member of version 2 of the options, which the library
            # reads only when opts.version says 2 or more: the init above
            # set the version of the header the binding was built with.
            opts.lease_period_ms = lease_period_ms
        flags = 0
        if shared is True:
            flags |= lib.SESSNAP_STORE_SHARED
        elif shared is False:
            flags |= lib.SESSNAP_STORE_LOCAL
        elif shared is not None:
            raise TypeError("shared must be True, False or None")
        if readonly:
            flags |= lib.SESSNAP_STORE_READONLY
        if not create:
            flags |= lib.SESSNAP_STORE_NOCREATE
        if not thread:
            flags |= lib.SESSNAP_STORE_NOTHREAD
        opts.flags = flags
        opts.payload = self._self_handle
        opts.log = lib._log_cb
        if migrate is not None:
            opts.migrate_text = lib._migrate_cb
        if validate is not None:
            opts.validate_text = lib._validate_cb
        out = ffi.new("sessnap_store **")
        _check(lib.sessnap_store_open(out, opts))
        self._h = out[0]

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_h", ffi.NULL) != ffi.NULL:
            lib.sessnap_store_close(self._h)
            self._h = ffi.NULL

    def _handle(self) -> Any:
        if self._h == ffi.NULL:
            raise InvalidState(lib.SESSNAP_ESTATE, "the store is closed")
        return self._h

    def _call(self, rc: int) -> int:
        """Raise the error of rc, chained to a callback's exception."""
        err = getattr(self._tls, "error", None)
        self._tls.error = None
        if rc < 0:
            exc = _error(rc)
            if err is not None:
                raise exc from err
            raise exc
        return rc

    def close(self) -> None:
        """Write every pending update, stop the writer and close the store.
        Sessions still open are flushed and released, not ended.  Closing
        twice is allowed."""
        if self._h != ffi.NULL:
            h, self._h = self._h, ffi.NULL
            _check(lib.sessnap_store_close(h))

    @property
    def path(self) -> str:
        """The store's directory."""
        return os.fsdecode(ffi.string(lib.sessnap_store_path(
            self._handle())))

    def begin(self, label: Optional[str] = None, *,
              key: Union[str, bytes, None] = None,
              keep: bool = False) -> "Session":
        """Begin a new session (its lock is held until it ends).  It is
        listed as running, with its key, from the moment this returns.

        Args:
            label: a human label ("notes.txt - 3 buffers").
            key: the document's key (a canonical path, a workspace id):
                bytes, or a str (encoded as UTF-8, a path with
                os.fsencode), at most SESSNAP_KEY_MAX bytes; matched byte
                for byte by :meth:`scan` and :meth:`recovery_prompt`.
            keep: keep the completed snapshot when the session ends
                (what :meth:`Session.end` does when not told otherwise).
        """
        so = ffi.new("sessnap_session_options *")
        so.version = lib.SESSNAP_SESSION_OPTIONS_VERSION
        label_b = ffi.new("char[]", label.encode()) if label else ffi.NULL
        so.label = label_b
        key_b = _key_bytes(key)
        key_c = ffi.new("char[]", key_b) if key_b else ffi.NULL
        so.key = key_c
        so.key_len = len(key_b) if key_b else 0
        out = ffi.new("sessnap_session **")
        _check(lib.sessnap_session_begin(out, self._handle(), so))
        s = Session(self, out[0])
        s._keep = keep
        return s

    def scan(self, *, recoverable: bool = False,
             key: Union[str, bytes, None] = None,
             status: Optional[Iterable[Status]] = None,
             where: Optional[Callable[[SessionInfo], bool]] = None
             ) -> List[SessionInfo]:
        """List the store's sessions, newest first.

        Args:
            recoverable: only the crashed sessions a user can recover.
            key: only the sessions whose key is exactly this (bytes, or
                a str as for :meth:`begin`; never matched on a label).
            status: only sessions of these statuses.
            where: only sessions for which this returns true.
        """
        out = ffi.new("sessnap_info ***")
        count = ffi.new("size_t *")
        flags = lib.SESSNAP_SCAN_RECOVERABLE if recoverable else 0
        key_b = _key_bytes(key)
        if key_b is not None:
            _check(lib.sessnap_store_scan_key(out, count, self._handle(), flags,
                                        key_b, len(key_b)))
        else:
            _check(lib.sessnap_store_scan(out, count, self._handle(), flags))
        try:
            infos = [self._info(out[0][i][0]) for i in range(count[0])]
        finally:
            lib.sessnap_info_free(out[0], count[0])
        if status is not None:
            wanted = {Status(s) for s in status}
            infos = [i for i in infos if i.status in wanted]
        if where is not None:
            infos = [i for i in infos if where(i)]
        return infos

    @staticmethod
    def _info(i: Any) -> SessionInfo:
        # Records grow at their end: a member lies past `size` when the
        # library that filled the record is older than our header.
        lease_age = lease_period = lease_renewals = None
        if ffi.offsetof("sessnap_info", "lease_renewals") < i.size:
            if i.lease_age_ms >= 0:
                lease_age = i.lease_age_ms
            if i.lease_period_ms != 0:
                lease_period = i.lease_period_ms
                lease_renewals = i.lease_renewals
        return SessionInfo(
            _str(i.id), Status(_str(lib.sessnap_verdict_name(i.status))),
            bool(i.flags & lib.SESSNAP_INFO_FROM_PREV),
            _str(i.label) if i.label != ffi.NULL else None, i.created_ms,
            i.saved_ms, i.seq, i.adoptions, i.format_version,
            i.schema_version, Owner._of(i.owner), i.payload_bytes,
            i.file_bytes, i.mtime_ms,
            bool(i.flags & lib.SESSNAP_INFO_NOT_REGULAR),
            bool(i.flags & lib.SESSNAP_INFO_TOOBIG),
            bool(i.flags & lib.SESSNAP_INFO_UNREADABLE),
            bytes(ffi.buffer(i.key, i.key_len)) if i.key != ffi.NULL
            else None, i.generation,
            bool(i.flags & lib.SESSNAP_INFO_TAKEN_OVER), lease_age,
            lease_period, lease_renewals)

    def load(self, id: str) -> Loaded:
        """Load a session's state without adopting it ("peek").

        Falls back to the previous generation when the main snapshot is
        missing, damaged or rejected by ``validate``, and then issues a
        :class:`FallbackWarning`.
        """
        out = ffi.new("char **")
        out_len = ffi.new("size_t *")
        info = ffi.new("sessnap_load_info **")
        self._call(lib.sessnap_store_load_text(out, out_len, info,
                                         self._handle(), id.encode()))
        try:
            got = LoadInfo._of(info[0])
        finally:
            lib.sessnap_load_info_free(info[0])
        state = _text(out[0], out_len[0])
        if got.generation > 0:
            warnings.warn(got.notice, FallbackWarning, stacklevel=2)
        return Loaded(state, got)

    def adopt(self, id: str) -> Tuple["Session", Any]:
        """Adopt a crashed session: take its lock, load its state and
        continue it.  Returns the session and the recovered state; the
        session's :attr:`Session.recovered` has the :class:`LoadInfo`."""
        out = ffi.new("sessnap_session **")
        text = ffi.new("char **")
        text_len = ffi.new("size_t *")
        info = ffi.new("sessnap_load_info **")
        self._call(lib.sessnap_session_adopt_text(
            out, text, text_len, info, self._handle(), id.encode()))
        try:
            recovered = LoadInfo._of(info[0])
        finally:
            lib.sessnap_load_info_free(info[0])
        session = Session(self, out[0])
        try:
            state = _text(text[0], text_len[0])
        except BaseException:
            session.release()
            raise
        session.recovered = recovered
        if session.recovered.generation > 0:
            warnings.warn(session.recovered.notice, FallbackWarning,
                          stacklevel=2)
        return session, state

    def generations(self, id: str) -> List[Generation]:
        """The generations of a session on disk, newest first (as the
        loader tries them), each with its verdict."""
        out = ffi.new("sessnap_generation **")
        count = ffi.new("size_t *")
        self._call(lib.sessnap_store_generations(out, count, self._handle(),
                                           id.encode()))
        try:
            return [Generation(g.generation, g.verdict, _str(g.reason),
                               g.seq, g.saved_ms, g.file_bytes)
                    for g in (out[0][i] for i in range(count[0]))]
        finally:
            lib.sessnap_generations_free(out[0])

    def discard(self, id: str) -> None:
        """Remove a session's files (never a running one's).  Raises
        :class:`NotFound` when it does not exist."""
        _check(lib.sessnap_store_discard(self._handle(), id.encode()))

    def clean(self, policy: Optional[CleanPolicy] = None) -> CleanReport:
        """Remove old sessions and orphaned files, safely (never a running
        session, a newer-format file, or anything not the store's own).
        Failures on single sessions are in the report's ``failed`` and
        ``error``; a store that cannot be listed raises."""
        p = policy or CleanPolicy()
        cp = ffi.new("sessnap_clean_policy *")
        cp.version = lib.SESSNAP_CLEAN_POLICY_VERSION

        def ms(age: Optional[float]) -> int:
            return -1 if age is None else int(age * 1000)

        cp.completed_age_ms = ms(p.completed_age)
        cp.crashed_age_ms = ms(p.crashed_age)
        cp.temp_age_ms = ms(p.temp_age)
        cp.keep = p.keep
        cp.flags = ((lib.SESSNAP_CLEAN_DRY_RUN if p.dry_run else 0) |
                    (lib.SESSNAP_CLEAN_INCLUDE_CORRUPT
                     if p.include_corrupt else 0))
        cp.now_ms = 0 if p.now is None else int(p.now * 1000)
        rep = ffi.new("sessnap_clean_report *")
        rep.version = lib.SESSNAP_CLEAN_REPORT_VERSION
        events: List[CleanEvent] = []
        handle = ffi.new_handle(events)
        rc = lib.sessnap_store_clean(rep, self._handle(), cp, lib._clean_cb,
                               handle)
        error = None
        if rc < 0:
            error = _error(rc)
            if rep.failed == 0:
                raise error
        return CleanReport(
            rep.removed_completed, rep.removed_crashed, rep.removed_corrupt,
            rep.removed_temp, rep.removed_lock, rep.kept_running,
            rep.kept_young, rep.kept_newest, rep.kept_newer,
            rep.kept_corrupt, rep.kept_foreign, rep.skipped_unsafe,
            rep.failed, rep.files_removed, rep.bytes_freed, events, error)

    def recovery_prompt(self, input: Optional[IO[str]] = None,
                        output: Optional[IO[str]] = None, *,
                        app_name: Optional[str] = None,
                        assume_tty: bool = False,
                        key: Union[str, bytes, None] = None
                        ) -> PromptResult:
        """Ask a terminal user which crashed session to restore
        ("2 sessions did not end cleanly: ... Restore? [Y/n/list/discard]").

        Args:
            input, output: file objects with a file descriptor (default
                stdin and stderr).
            app_name: the program's name in the question.
            assume_tty: ask even when ``input`` is not a terminal.
            key: offer only the crashed sessions of this key (as for
                :meth:`scan`).
        Returns:
            the answer and, for RESTORE, the id to :meth:`adopt`.
        """
        src = input if input is not None else sys.stdin
        dst = output if output is not None else sys.stderr
        dst.flush()
        fin = lib.fdopen(lib.dup(src.fileno()), b"r")
        fout = lib.fdopen(lib.dup(dst.fileno()), b"w")
        if fin == ffi.NULL or fout == ffi.NULL:
            for f in (fin, fout):
                if f != ffi.NULL:
                    lib.fclose(f)
            raise OSError("cannot open the prompt's streams")
        po = ffi.new("sessnap_prompt_options *")
        po.version = lib.SESSNAP_PROMPT_OPTIONS_VERSION
        name_b = ffi.new("char[]", app_name.encode()) if app_name \
            else ffi.NULL
        setattr(po, "in", fin)  # "in" is a keyword in Python
        po.out = fout
        po.app_name = name_b
        po.assume_tty = 1 if assume_tty else 0
        key_b = _key_bytes(key)
        key_c = ffi.new("char[]", key_b) if key_b else ffi.NULL
        po.key = key_c
        po.key_len = len(key_b) if key_b else 0
        out = ffi.new("char[]", ID_LEN + 1)
        answer = ffi.new("sessnap_prompt_answer *")
        try:
            _check(lib.sessnap_prompt_run(out, answer, self._handle(),
                                               po))
        finally:
            lib.fclose(fin)
            lib.fclose(fout)
        a = PromptAnswer(answer[0])
        return PromptResult(a, _str(out) if a == PromptAnswer.RESTORE
                            else None)

    def tick(self) -> None:
        """Save every session whose save is due, on this thread (a store
        opened with ``thread=False``)."""
        _check(lib.sessnap_store_tick(self._handle()))


# ---- Session ----------------------------------------------------------------


class Session:
    """One run of the program, owned by this process (from
    :meth:`Store.begin` or :meth:`Store.adopt`).

    A context manager: leaving the ``with`` block normally ends the session
    (its files are removed); leaving it with an exception releases it, so
    that its last state stays on disk to be recovered.
    """

    #: after :meth:`Store.adopt`: what the load found
    recovered: Optional[LoadInfo] = None

    def __init__(self, store: Store, handle: Any) -> None:
        self._store = store
        self._h = handle
        self._keep = False
        self.id: str = _str(lib.sessnap_session_id(handle))

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if self._h == ffi.NULL:
            return
        if exc_type is None:
            self.end()
        else:
            self.release()

    def _handle(self) -> Any:
        if self._h == ffi.NULL:
            raise InvalidState(lib.SESSNAP_ESTATE,
                               f"session {self.id} has ended")
        return self._h

    def update(self, state: Any) -> None:
        """Hand over a new state: any JSON-serializable value.  It is
        serialized here, on the calling thread (``json.dumps``), and queued;
        the store's writer saves it within the autosave interval.  A newer
        update replaces a pending one.

        Raises:
            TypeError, ValueError: the value is not JSON-serializable (NaN
                and Infinity are not JSON).
            InvalidArgument: the library refused the text (too deep).
            TooBig: over the store's read bound.
        """
        self.update_json(_dumps(state))

    def update_json(self, text: Union[bytes, str]) -> None:
        """Hand over a state already serialized as JSON text (UTF-8 bytes
        or str)."""
        if isinstance(text, str):
            text = text.encode()
        _check(lib.sessnap_session_update_text(self._handle(), text,
                                               len(text)))

    def patch(self, ops: Iterable[Any]) -> None:
        """Hand over what changed instead of the whole state: a batch of
        operations on the state, applied as one step (all or none).

        Each operation is a dict in the style of JSON Patch (RFC 6902)
        or a tuple::

            session.patch([
                {"op": "add", "path": "/rows/-", "value": row},
                {"op": "replace", "path": "/cursor", "value": [12, 4]},
                {"op": "remove", "path": "/tabs/3"},
                ("add", ["files", "/etc/hosts"], {"dirty": True}),
            ])

        ``"add"`` sets an object member (created or replaced) or inserts
        into an array before an index (``"-"`` appends); ``"replace"``
        and ``"remove"`` need their target to exist.  A path is a JSON
        Pointer (str, escaped: see :func:`pointer`) or a sequence of keys
        and indexes, which is escaped here.  Each value is serialized with
        ``json.dumps`` on this thread; nothing here costs more with the
        size of the state.  The library keeps its own copy of the state
        (about one state's size of memory) and applies the batch to it on
        the writer's side.  An empty batch does nothing.

        Raises (and then nothing of the batch is queued):
            TypeError, ValueError: an operation that is not one of these
                forms, or a value that is not JSON-serializable.
            InvalidArgument: a pointer that is not a JSON Pointer, a
                value nested too deep under its pointer.
            TooBig: a pointer of 1024 tokens or more, a value over the
                store's read bound.
            InvalidState: the session has no state yet (no update, not
                adopted) or has ended.
            PatchFailed: an earlier batch did not apply, and no
                :meth:`update` came since.

        A batch that cannot be applied to the state when its turn comes
        (a missing target, an index out of range) is dropped whole, and
        so are the batches queued after it; the session keeps its last
        good state, the next :meth:`flush` raises :class:`PatchFailed`,
        :meth:`status` reports its code with the pointer, and the next
        :meth:`update` recovers.
        """
        encoded = [_patch_op(i, op) for i, op in enumerate(ops)]
        if not encoded:
            return
        h = self._handle()
        arr = ffi.new("sessnap_patch_text_op[]", len(encoded))
        keep = []
        for c, (kind, path, text) in zip(arr, encoded):
            path_c = ffi.new("char[]", path)
            keep.append(path_c)
            c.op = kind
            c.path = path_c
            if text is not None:
                text_c = ffi.new("char[]", text)
                keep.append(text_c)
                c.value = text_c
                c.value_len = len(text)
        _check(lib.sessnap_session_patch_text(h, arr, len(encoded)))

    def save(self) -> None:
        """Save now, on this thread: the same as :meth:`flush` (the C
        library has one function, ``sessnap_session_flush()``)."""
        _check(lib.sessnap_session_flush(self._handle()))

    def flush(self) -> None:
        """Wait until every update handed over so far is durable."""
        _check(lib.sessnap_session_flush(self._handle()))

    def set_label(self, label: Optional[str]) -> None:
        """Set the label written with the next save."""
        _check(lib.sessnap_session_set_label(
            self._handle(), label.encode() if label else ffi.NULL))

    def touch(self) -> None:
        """Pull mode: mark the state as changed (cheap); hand it over with
        :meth:`update` when :meth:`save_due` says so."""
        _check(lib.sessnap_session_touch(self._handle()))

    def save_due(self) -> bool:
        """Pull mode: whether the session was touched at least one
        autosave interval ago."""
        return _check(lib.sessnap_session_save_due(self._handle())) == 1

    def status(self) -> SaveStatus:
        """How saving goes: the last error, pending state, retries, and
        the lease's renewals on a store with leases."""
        st = ffi.new("sessnap_save_status *")
        st.version = lib.SESSNAP_SAVE_STATUS_VERSION
        _check(lib.sessnap_session_status(st, self._handle()))
        return SaveStatus(st.last_error, _str(st.last_message),
                          bool(st.pending), st.failures, st.retry_in_ms,
                          st.durable_age_ms, st.seq, st.saves, st.skips,
                          st.lease_error, _str(st.lease_message),
                          st.lease_failures,
                          st.lease_period_ms or None,
                          st.lease_age_ms if st.lease_age_ms >= 0
                          else None)

    def end(self, keep: Optional[bool] = None) -> None:
        """End the session cleanly: flush, mark it completed, then remove
        its files (or keep the completed snapshot: ``keep``, or when None
        the ``keep`` given to :meth:`Store.begin`).  The handle is gone
        afterwards, even on error (the files then stay, as a crashed
        session)."""
        h = self._handle()
        self._h = ffi.NULL
        if keep is None:
            keep = self._keep
        _check(lib.sessnap_session_end(h, lib.SESSNAP_SESSION_KEEP
                                       if keep else 0))

    def release(self) -> None:
        """Let go of the session without ending it or writing anything:
        it becomes "crashed" for the scanner (what a forked child must do
        with the sessions it inherited)."""
        if self._h != ffi.NULL:
            h, self._h = self._h, ffi.NULL
            lib.sessnap_session_release(h)
