"""``call`` across the process boundary: run a student's function in the kernel, get JSON back.

The grader defines a small program in the kernel once (``install_code``), then sends one line
per batch of calls (``call_code``). The program finds the function, calls it with arguments
decoded from JSON, checks that each result is a plain value (exact built-in types, as
``kit.exercises._values`` demands) and publishes one reply per call as a ``display_data``
message of a private MIME type. Batching matters: a round trip to the kernel costs ~8 ms, so
the pure-function cases of an exercise travel together (see ``judge``). The grader decodes
each reply with ``json.loads`` in its own process (``decode_reply``) and turns it into a plain
value or a ``CallError``.

Nothing of the student's survives the trip but JSON: an object whose ``__eq__`` always says
True, a ``str`` subclass, a patched ``kit`` or ``json`` inside the kernel can at most change
the value the student hands in, never the verdict, which is computed by the grader. The
program does not import ``kit`` in the kernel, so patching ``kit`` there changes nothing.

The time limit is enforced from outside (``kernel.KernelSession.call``): interrupt (SIGINT,
which this program reports as a timeout), then kill the kernel's process group.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..exercises import BadResult, CallError, NotAttempted, StudentError, TimeLimitExceeded

__all__ = ["MIME", "MAX_REPLY_BYTES", "MAX_MESSAGE_CHARS", "MAX_TRACEBACK_CHARS", "install_code",
           "call_code", "read_log", "snapshot_code",
           "decode_reply", "new_nonce", "KernelDied", "AnswerCellFailed"]

#: The MIME type of the reply the kernel publishes.
MIME = "application/vnd.smtpkit.reply+json"
#: A reply (the JSON text of the value) larger than this is refused as a bad result.
MAX_REPLY_BYTES = 8 * 1024 * 1024
#: An error message or a traceback from the kernel is cut to this many characters (in the
#: kernel, and again here): a 20 MB exception message must not become 80 MB of feedback.
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 6000

# The program run in the kernel. Placeholders are filled with repr()s of plain values only.
# It must not raise: every outcome is published as a reply.
_PROGRAM = r'''
def __smtpkit_call__(nonce, exercise_id, name, payload, max_bytes, mime, log_fd, caps):
    import json
    import os
    import traceback
    from IPython.display import publish_display_data

    def cut(text, limit):
        if len(text) <= limit:
            return text
        return "%s... (truncated, %s characters in all)" % (text[:limit], format(len(text), ","))

    def send(reply):
        reply["nonce"] = nonce
        for key, limit in (("message", caps[0]), ("traceback", caps[1])):
            if isinstance(reply.get(key), str):
                reply[key] = cut(reply[key], limit)
        if log_fd is not None:  # the grader's log first: survives the kernel dying before the message is sent
            try:
                os.write(log_fd, (json.dumps(reply) + "\n").encode())
            except OSError:
                pass
        publish_display_data({mime: reply})

    def cell_frames(exc):
        try:
            names = get_ipython().compile._filename_map
        except Exception:
            names = {}
        ours = one.__code__.co_filename  # the grader's own cell: never shown to a student
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename in names and f.filename != ours]
        for frame in frames:
            frame.filename = "Cell In[%s]" % names[frame.filename]
        return "".join(traceback.format_list(frames)).rstrip()

    kinds = {type(None): "None", bool: "a bool", int: "an int", float: "a float", str: "a str",
             list: "a list", dict: "a dict"}

    def where(path):
        return " at " + path if path else ""

    def short(value):
        try:
            text = repr(value)
        except Exception:
            text = "<%s object>" % type(value).__qualname__
        return text if len(text) <= 80 else text[:77] + "..."

    def problem(value, path="", depth=0):
        # None when the value is plain; else why not (the words of kit.exercises._values).
        if depth > 100:
            return "value nested deeper than 100 levels" + where(path)
        kind = type(value)
        if kind in (type(None), bool, int, float, str):
            return None
        if kind is list or kind is tuple:
            for i, item in enumerate(value):
                why = problem(item, "%s[%d]" % (path, i), depth + 1)
                if why:
                    return why
            return None
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return "dict keys must be plain str, got key %s (%s)%s" % (
                        short(key), type(key).__qualname__, where(path))
                why = problem(item, "%s[%r]" % (path, key), depth + 1)
                if why:
                    return why
            return None
        qualname = kind.__qualname__
        for base in (bool, int, float, str, list, dict, tuple):
            if isinstance(value, base):
                return ("got a %s%s, a subclass of %s; return a plain %s, e.g. %s(value)"
                        % (qualname, where(path), base.__name__, base.__name__, base.__name__))
        if isinstance(value, (bytes, bytearray)):
            return "got bytes%s; return a str, e.g. data.decode()" % where(path)
        if isinstance(value, (set, frozenset)):
            return "got a %s%s; return a list instead" % (qualname, where(path))
        return ("got a %s object%s; return a plain value (str, int, float, bool, None, list or dict)"
                % (qualname, where(path)))

    def one(function, args, kwargs):
        try:
            value = function(*args, **kwargs)
        except NotImplementedError as exc:
            return {"kind": "not attempted", "message": str(exc)}
        except KeyboardInterrupt:
            return {"kind": "timeout"}
        except BaseException as exc:
            return {"kind": "error", "type": type(exc).__qualname__, "message": str(exc),
                    "traceback": cell_frames(exc)}
        why = problem(value)
        if why:
            return {"kind": "bad result", "message": why}
        try:
            text = json.dumps(value)
        except (ValueError, RecursionError) as exc:
            return {"kind": "bad result", "message": "the result cannot be sent as JSON: %s" % exc}
        if len(text) > max_bytes:
            return {"kind": "bad result", "message": "the result is too large (%d characters)" % len(text)}
        return {"kind": "value", "json": text}

    index = 0
    try:
        user = globals()
        function = user.get("__smtpkit_snapshots__", {}).get(exercise_id)
        if function is None:
            function = user.get(name)
        if function is None or not callable(function):
            send({"kind": "missing", "index": 0,
                  "message": "the notebook defines no function called %s" % name})
            return
        for index, (args, kwargs) in enumerate(json.loads(payload)):
            reply = one(function, args, kwargs)
            reply["index"] = index
            send(reply)
            if reply["kind"] == "timeout":
                return
    except KeyboardInterrupt:
        send({"kind": "timeout", "index": index})
'''


class KernelDied(CallError):
    """The kernel is gone: the call ended it (os._exit, a crash, a resource limit), or an
    earlier one did. The message says which, for the student."""

    status = "error"


class AnswerCellFailed(CallError):
    """The cell that holds the exercise's answer raised (a syntax error, say), so the function
    does not exist: an error of the student's to fix there, not an exercise left undone."""

    status = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"your answer cell for this exercise did not run: it {detail}")
        self.detail = detail


def new_nonce() -> str:
    return secrets.token_hex(8)


def install_code() -> str:
    """The program that defines the call helper in the kernel (once per kernel)."""
    return _PROGRAM


def call_code(nonce: str, exercise_id: str, name: str, calls: list[tuple[list, dict]],
              log_fd: int | None = None) -> str:
    """One line that makes calls in the kernel, in order, one reply each; they stop after a
    timeout. Arguments must be plain. Each reply is also written to the descriptor ``log_fd``
    (JSON lines; the grader's reply log, handed to the kernel by its launcher) before it is
    sent: when a later call kills the kernel, the replies it had made are not lost with the
    kernel's unsent messages (``read_log``). No path is named: the kernel can't redirect it."""
    payload = json.dumps([[args, kwargs] for args, kwargs in calls])
    return (f"__smtpkit_call__({nonce!r}, {exercise_id!r}, {name!r}, {payload!r}, "
            f"{MAX_REPLY_BYTES!r}, {MIME!r}, {log_fd!r}, "
            f"({MAX_MESSAGE_CHARS!r}, {MAX_TRACEBACK_CHARS!r}))")


def read_log(path: str, nonce: str) -> dict[int, Any]:
    """The replies of call batch ``nonce`` written to ``path``, by index (unreadable lines and
    other batches' replies skipped; no link followed, at most 32 MB read)."""
    from .safe_files import read_tail

    replies: dict[int, Any] = {}
    lines = read_tail(path, 4 * MAX_REPLY_BYTES).splitlines()
    for line in lines:
        try:
            reply = json.loads(line)
        except ValueError:
            continue
        if type(reply) is dict and reply.get("nonce") == nonce and type(reply.get("index")) is int:
            replies.setdefault(reply["index"], reply)
    return replies


def snapshot_code(exercise_id: str, name: str) -> str:
    """Remember the function ``name`` as defined right now (after the exercise's own cell)."""
    return (f"globals().setdefault('__smtpkit_snapshots__', {{}})[{exercise_id!r}] = "
            f"globals().get({name!r})")


def decode_reply(reply: Any, nonce: str, name: str, time_limit: float,
                 index: int | None = None) -> Any:
    """The plain value of a reply, or raise the ``CallError`` it stands for.

    ``index``: the call this reply must answer (its position in the batch); a reply for
    another call (a forged one, or one replayed out of order) is refused."""
    from .problems import clip

    if type(reply) is not dict or reply.get("nonce") != nonce:
        raise BadResult("the kernel sent a reply the grader cannot read")
    if index is not None and not (type(reply.get("index")) is int and reply["index"] == index):
        raise BadResult("the kernel sent a reply for another call")
    kind = reply.get("kind")
    message = clip(reply["message"], MAX_MESSAGE_CHARS) if type(reply.get("message")) is str else ""
    if kind == "value":
        text = reply.get("json")
        if type(text) is not str or len(text) > MAX_REPLY_BYTES:
            raise BadResult("the kernel sent a reply the grader cannot read")
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BadResult(f"the result cannot be read as JSON: {exc}") from None
    if kind == "not attempted":
        raise NotAttempted(message)
    if kind == "missing":
        error = NotAttempted(message or f"the notebook defines no function called {name}")
        error.missing = True  # no later call can do better
        raise error
    if kind == "bad result":
        raise BadResult(message)
    if kind == "error":
        type_name = reply.get("type") if type(reply.get("type")) is str else "Exception"
        tb = clip(reply["traceback"], MAX_TRACEBACK_CHARS) if type(reply.get("traceback")) is str else ""
        type_name = clip(type_name, 200)
        raise StudentError(type_name, message, tb)
    if kind == "timeout":
        raise TimeLimitExceeded(time_limit)
    raise BadResult("the kernel sent a reply the grader cannot read")
