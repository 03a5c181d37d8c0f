"""Reading and writing attncost's files, the one place where input files are opened and outputs
written. No torch, no sympy; yaml is imported when a YAML file is first read.

Reading (:func:`read_text`, :func:`read_yaml`, :func:`read_json`): only regular files of at most
:data:`MAX_BYTES` (a FIFO, a device or a directory is refused before it is opened, so nothing
blocks), UTF-8 text (else ``FILE:LINE: not UTF-8 text``). YAML is loaded safely (no Python tags),
at most :data:`MAX_DEPTH` collections deep and with at most :data:`MAX_NODES` values once aliases
are expanded (a "billion laughs" file is refused in milliseconds, before anything is built; so is a
recursive alias); JSON at most :data:`MAX_DEPTH` deep too. Every error is one line naming the file,
and the line where there is one. Spec files are read through :mod:`attncost.specfile`, which
locates every value at its line; JSON files are checked by :mod:`attncost.lut.schema`.

Writing (:func:`check_outputs`, :func:`atomic_write`): an output is refused before any work when
its path is empty, its folder does not exist or is not writable, it is not a regular file (a
directory, a device node, a FIFO) or it is one of the command's inputs (compared with
``os.path.samefile``, through symlinks). The text goes to a temporary file in the target's folder,
is flushed to disk and renamed over the target: never half a file, and on any failure (SIGINT and
SIGTERM included: the temporary file is removed, then the process ends as the signal asks) the
previous file is left as it was. A symlink is written through (its target is replaced, the link
stays) and an existing file keeps its permission bits.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import tempfile
import functools
import threading
from pathlib import Path

from .errors import AttncostError, SpecError

MAX_BYTES = 64 << 20          # an input file larger than this is not one of ours
MAX_DEPTH = 64                # nesting of YAML/JSON collections (specs need fewer than 10)
MAX_NODES = 200_000           # YAML values after alias expansion (the largest shipped spec has ~600)
MAX_INT_DIGITS = 4000         # below Python's int-from-text limit (4300 digits)
TEMP_PREFIX, TEMP_SUFFIX = ".attncost-", ".tmp"


# -- reading -----------------------------------------------------------------------------------------

def read_text(path, error=SpecError) -> str:
    """The UTF-8 text of the regular file at ``path`` (a leading BOM dropped); ``error`` is the
    exception class of the one-line errors (``FILE: cannot read (...)``, ``FILE:LINE: not UTF-8``)."""
    try:
        info = os.stat(path)
    except OSError as failure:
        raise error(f"{path}: cannot read ({failure.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: cannot read ({_kind(info.st_mode)}, not a regular file)")
    if info.st_size > MAX_BYTES:
        raise error(f"{path}: cannot read ({info.st_size:,} bytes; an input file is at most {MAX_BYTES:,})")
    try:                                    # O_NONBLOCK: a file swapped for a FIFO meanwhile cannot block us
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            opened = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(opened):
                raise error(f"{path}: cannot read ({_kind(opened)}, not a regular file)")
            data = handle.read(MAX_BYTES + 1)
    except OSError as failure:
        raise error(f"{path}: cannot read ({failure.strerror})") from None
    if len(data) > MAX_BYTES:
        raise error(f"{path}: cannot read (more than {MAX_BYTES:,} bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as failure:
        line = data.count(b"\n", 0, failure.start) + 1
        column = failure.start - (data.rfind(b"\n", 0, failure.start) + 1) + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte 0x{data[failure.start]:02x} at column {column}); "
                    f"save the file as UTF-8") from None


@functools.cache
def _loader():
    """The YAML loader class, made when a YAML file is first read (commands that read none, such as
    ``compare`` and ``list``, never import yaml)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        """SafeLoader that refuses nesting deeper than MAX_DEPTH while it composes (the composer
        recurses once per level: a few thousand levels would end in RecursionError)."""

        def __init__(self, text, path):
            super().__init__(text)
            self.path, self.depth = path, 0

        def compose_node(self, parent, index):
            if not self.check_event(yaml.AliasEvent) and not self.check_event(yaml.ScalarEvent):
                self.depth += 1
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise SpecError(f"{self.path}:{mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
                try:
                    return super().compose_node(parent, index)
                finally:
                    self.depth -= 1
            return super().compose_node(parent, index)

    return _Loader


def read_yaml(path, error=SpecError) -> tuple:
    """(data, node) of a YAML file, loaded safely and parsed once; ``node`` is the root of its node
    tree (``None`` for an empty file), which carries the lines. Errors name the file and line."""
    return parse_yaml(read_text(path, error), path, error)


def parse_yaml(text: str, path, error=SpecError) -> tuple:
    """(data, node) of YAML ``text`` read from ``path`` (named in errors), with the limits above."""
    import yaml

    loader = None
    try:
        loader = _loader()(text, path)                   # the reader checks every character here
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_size(path, node)
        return loader.construct_document(node), node
    except yaml.YAMLError as failure:
        raise error(f"{path}{_yaml_line(failure, text)}: malformed YAML ({_yaml_problem(failure)})") from None
    except SpecError as failure:
        if error is SpecError:
            raise
        raise error(str(failure)) from None
    except (ValueError, OverflowError, RecursionError) as failure:   # a value the constructor cannot build
        raise error(f"{path}: malformed YAML ({type(failure).__name__}: {_one_line(str(failure))})") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_line(failure, text: str) -> str:
    mark = getattr(failure, "problem_mark", None) or getattr(failure, "context_mark", None)
    if mark is not None:
        return f":{mark.line + 1}"
    position = getattr(failure, "position", None)                  # a ReaderError (a forbidden character)
    return f":{text.count(chr(10), 0, position) + 1}" if isinstance(position, int) else ""


def _yaml_problem(failure) -> str:
    import yaml

    if isinstance(failure, yaml.reader.ReaderError):
        character = failure.character
        code = ord(character) if isinstance(character, str) else character
        return f"the character #x{code:04x} is not allowed in YAML"
    return _one_line(str(getattr(failure, "problem", None) or getattr(failure, "context", None) or failure))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_size(path, root) -> None:
    """Refuse a node tree with more than MAX_NODES values once aliases are expanded, a recursive
    alias, or an integer too long to read; without building anything (sizes are counted once per
    node, so an alias bomb costs as many steps as it has lines)."""
    import yaml

    sizes: dict = {}
    on_path: set = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise SpecError(f"{path}:{node.start_mark.line + 1}: more than {MAX_NODES:,} values once its "
                                f"aliases are expanded (an alias bomb?)")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise SpecError(f"{path}:{node.start_mark.line + 1}: a recursive alias (a value that contains itself)")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
                raise SpecError(f"{path}:{node.start_mark.line + 1}: an integer of {len(node.value):,} digits")
            sizes[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node) -> list:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def read_json(path, error=SpecError):
    """The JSON value of the file at ``path``. ``NaN`` and ``Infinity`` are read as floats (the
    schema checks of :mod:`attncost.lut.schema` refuse them where a number must be finite); a file
    cut short says ``truncated``, other damage ``corrupt``, both with line and column."""
    return parse_json(read_text(path, error), path, error)


def parse_json(text: str, path, error=SpecError, object_pairs_hook=None):
    """The JSON value of ``text`` read from ``path`` (named in errors), at most MAX_DEPTH deep;
    ``object_pairs_hook`` as :func:`json.loads` takes it."""
    try:
        data = json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as failure:
        what = "truncated" if _ran_out(text, failure) else "corrupt"
        raise error(f"{path}: not a complete JSON file ({what} at line {failure.lineno} column {failure.colno}: "
                    f"{failure.msg})") from None
    except RecursionError:
        raise error(f"{path}: not a usable JSON file (nested more than {MAX_DEPTH} levels deep)") from None
    except ValueError as failure:                                  # e.g. an integer of 5000 digits
        detail = ("an integer of more than 4300 digits" if "digits" in str(failure) else _one_line(str(failure)))
        raise error(f"{path}: not a usable JSON file ({detail})") from None
    depth = _json_depth(data)
    if depth > MAX_DEPTH:
        raise error(f"{path}: not a usable JSON file (nested more than {MAX_DEPTH} levels deep)")
    return data


_JSON_WORDS = ("null", "true", "false", "NaN", "Infinity", "-Infinity")
_NUMBER_PART = re.compile(r"[-+.eE0-9]+")


def _ran_out(text: str, failure: json.JSONDecodeError) -> bool:
    """Whether the parser failed because the text stopped, not because it is wrong: nothing but
    blanks after the failure, an open string, or the text ends inside a word (``nul``) or a number
    (``1.``, ``2e-``) that more text would have completed."""
    rest = text[failure.pos:].strip()
    if not rest or failure.msg.startswith("Unterminated string"):
        return True
    inside_word = any(word.startswith(rest) and word != rest for word in _JSON_WORDS)
    return inside_word or bool(_NUMBER_PART.fullmatch(rest))


def _json_depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


# -- writing -----------------------------------------------------------------------------------------

def _label(option: str | None, path) -> str:
    return f"{option} {path}" if option else str(path)


def check_outputs(outputs, inputs=()) -> None:
    """Refuse, before any work, every output a command could not write or should not: ``outputs``
    and ``inputs`` are (label, path) pairs (``("-o", "t.json")``, ``("TABLE", "t.json")``; a path of
    ``None`` is skipped). An output must have a name, an existing writable folder, be a regular file
    if it exists, differ from every input (``os.path.samefile``: through symlinks and hard links)
    and from the other outputs. Raises :class:`AttncostError` naming the option; nothing is created."""
    checked = []
    for option, path in outputs:
        if path is None:
            continue
        target = _output_target(path, option)
        for label, source in list(inputs) + checked:
            if source is not None and _same_file(target, source):
                what = "is also the input" if (label, source) not in checked else "is also the output"
                raise AttncostError(f"{_label(option, path)}: {what} {_label(label, source)}; writing it would "
                                    f"overwrite it: give another output path")
        checked.append((option, path))


def _output_target(path, option=None) -> str:
    """The file a write to ``path`` replaces (a symlink's target), checked as ``check_outputs`` says."""
    text = os.fspath(path)
    if not text.strip():
        raise AttncostError(f"{option or 'the output'}: the output path is empty; nothing written")
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        raise AttncostError(f"{_label(option, path)}: names a folder, not a file; nothing written")
    target = os.path.realpath(text) if os.path.islink(text) else os.path.abspath(text)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise AttncostError(f"{_label(option, path)}: folder {folder} does not exist; nothing written")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AttncostError(f"{_label(option, path)}: folder {folder} is not writable; nothing written")
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as failure:
        raise AttncostError(f"{_label(option, path)}: cannot write ({failure.strerror}); nothing written") from None
    if not stat.S_ISREG(info.st_mode):
        raise AttncostError(f"{_label(option, path)}: is {_kind(info.st_mode)}, not a regular file; nothing written")
    return target


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:                                  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived while a file was being written or a worker ran: raised in the main
    thread so that ``finally`` blocks remove temporary files and stop workers; the outermost
    :func:`terminating` then ends the process by that signal, as it would have ended."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_TERMINATING = threading.local()
_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def terminating():
    """Inside: SIGTERM and SIGHUP raise :class:`Terminated` (SIGINT already raises KeyboardInterrupt),
    so cleanup runs; when the outermost block exits by one, the process ends by that signal after
    the cleanup. Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread() or getattr(_TERMINATING, "active", False):
        yield
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    _TERMINATING.active = True
    try:
        for s in _SIGNALS:
            if previous[s] in (signal.SIG_DFL, None) or previous[s] is signal.default_int_handler:
                signal.signal(s, _raise_terminated)
        yield
    except Terminated as terminated:
        _restore(previous)
        _TERMINATING.active = False
        signal.signal(terminated.signum, signal.SIG_DFL)
        os.kill(os.getpid(), terminated.signum)              # end as the signal asked (after cleanup)
        raise SystemExit(128 + terminated.signum) from None
    finally:
        if getattr(_TERMINATING, "active", False):
            _restore(previous)
            _TERMINATING.active = False


def _restore(previous: dict) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _signals_blocked():
    """Defer SIGINT/SIGTERM/SIGHUP across a few steps that must happen together (creating the
    temporary file and noting its name; renaming it over the target)."""
    blockable = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if not blockable:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *_SIGNALS})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def atomic_write(path, text: str, option: str | None = None) -> None:
    """Write ``text`` to ``path`` (UTF-8) via a temporary file in the target's folder, fsync and a
    rename: never a half-written file, the previous file intact on any failure or signal, a
    symlink written through, an existing file's permissions kept. ``option`` names the path in
    errors (``-o``)."""
    target = _output_target(path, option)
    directory = os.path.dirname(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask                    # mkstemp's 0600 would make reports private
    data = text.encode("utf-8")
    with terminating():
        tmp = None
        try:
            with _signals_blocked():
                try:
                    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
                except OSError as failure:
                    raise AttncostError(f"{_label(option, path)}: cannot write in {directory} "
                                        f"({failure.strerror}); nothing written") from None
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, mode)
            except OSError as failure:
                raise AttncostError(f"{_label(option, path)}: cannot write ({failure.strerror}); the previous "
                                    f"file is unchanged") from None
            with _signals_blocked():
                os.replace(tmp, target)
                tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def temporary_files(folder) -> list:
    """The temporary files :func:`atomic_write` leaves only if the process is killed by SIGKILL."""
    return sorted(p for p in Path(folder).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
