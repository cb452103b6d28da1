"""Safe output paths: never destroy what is not ours (issue "Safe by construction").

Every writer of the project (a run folder, settlement or comparison folders, reports, imported
scenarios, stores) goes through these helpers:

- `check_output_target(path, kind, overwrite=..., forbid_inside=...)` refuses, before any work is
  done, a target that is a regular file, sits inside a folder it must not write into (the
  scenario's own folder), has a parent that is a file or is not writable, or exists and is not a
  previous output of the same kind; a previous output of the same kind is replaced only with
  `overwrite=True`.
- `write_output_dir(path, kind, fill, ...)` writes a folder atomically: `fill(tmp)` writes into a
  temporary sibling, the marker file `.edam-output.json` records the kind, and the temporary folder
  is swapped in. A temporary left by a killed process (named `.<name>.edam-tmp-*` and holding our
  `.edam-partial` marker, which names the writing process) is removed on the next write to the
  same target, unless that process is still running on this host.
- `write_output_file(path, kind, data, signature=...)` does the same for one file (a report):
  an existing file is replaced only when it carries the signature our writer puts in it.

A folder is recognised as an output of kind K by its marker file; run folders written before the
marker existed are recognised by a `manifest.json` holding `run_id` (a store's run) or the
engine's `input_hash`, `parameters` and `solver` (an `edam solve` run): kind "run".
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

MARKER = ".edam-output.json"
PARTIAL = ".edam-partial"
TMP_INFIX = ".edam-tmp-"
OLD_INFIX = ".edam-old-"


class OutputPathError(ValueError):
    """An output target that the project must not write to (one clear line for the CLI)."""


class RunFolderError(ValueError):
    """A folder given as an input run (e.g. --commitment-from) that is not a run, or is a run
    of another scenario (one clear line for the CLI)."""


def output_kind(path: str | Path) -> str | None:
    """The kind of project output at `path` (from its marker), or None if it is not ours."""
    p = Path(path)
    if not p.is_dir():
        return None
    marker = p / MARKER
    if marker.is_file():
        try:
            return str(json.loads(marker.read_text(encoding="utf-8")).get("kind"))
        except (OSError, ValueError, AttributeError):
            return None
    manifest = p / "manifest.json"
    if manifest.is_file():  # a run folder written before the marker existed
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if isinstance(data, dict) and ("run_id" in data  # a store's run
                                       or {"input_hash", "parameters", "solver"} <= set(data)):
            return "run"
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output_target(path: str | Path, kind: str, *, overwrite: bool = False,
                        forbid_inside: Iterable[str | Path] = (),
                        is_file: bool = False, signature: bytes | None = None) -> Path:
    """Validate an output target before any work is done; return its absolute path.

    Raises `OutputPathError` with one line saying what is wrong and what to do.
    """
    p = Path(path).expanduser()
    absolute = Path(os.path.abspath(p))
    resolved = absolute.resolve()
    if absolute == Path(absolute.anchor) or resolved == Path.cwd().resolve() and not is_file:
        raise OutputPathError(f"output {str(path)!r} is the current directory or the filesystem "
                              f"root; name a new folder for the {kind}")
    for folder in forbid_inside:
        f = Path(folder).expanduser().resolve()
        if resolved == f or _inside(resolved, f):
            raise OutputPathError(f"output {str(path)!r} is inside the scenario folder {str(folder)!r};"
                                  f" write the {kind} elsewhere")
    parent = absolute.parent
    ancestor = parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"output {str(path)!r}: {str(ancestor)!r} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"output {str(path)!r}: folder {str(ancestor)!r} is not writable")
    if absolute.is_symlink():
        raise OutputPathError(f"output {str(path)!r} is a symbolic link; name a real path")
    if not absolute.exists():
        return absolute
    if is_file:
        if absolute.is_dir():
            raise OutputPathError(f"output {str(path)!r} is a folder; the {kind} is a file")
        ours = signature is not None and _file_has(absolute, signature)
        if not ours:
            raise OutputPathError(f"output {str(path)!r} exists and is not an edam {kind}; "
                                  "refusing to replace it")
    else:
        if not absolute.is_dir():
            raise OutputPathError(f"output {str(path)!r} exists and is a file, not an edam {kind} "
                                  "folder; refusing to replace it")
        found = output_kind(absolute)
        if found != kind:
            what = f"an edam {found} folder" if found else "not an edam output folder"
            raise OutputPathError(f"output {str(path)!r} exists and is {what}; refusing to replace "
                                  f"it (name a new folder for the {kind})")
    if not overwrite:
        raise OutputPathError(f"output {str(path)!r} already holds an edam {kind}; pass "
                              "--overwrite (overwrite=True) to replace it")
    return absolute


def _file_has(path: Path, signature: bytes, head: int = 65536) -> bool:
    try:
        with path.open("rb") as fh:
            return signature in fh.read(head)
    except OSError:
        return False


def clean_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove temporaries of ours left beside `target` by a killed writer; return what went."""
    t = Path(target)
    parent = t.parent
    if not parent.is_dir():
        return []
    removed = []
    for infix in (TMP_INFIX, OLD_INFIX):
        for cand in parent.glob(f".{t.name}{infix}*"):
            if cand.is_dir() and _writer_alive(cand / PARTIAL):
                continue  # another live process of ours is writing it right now
            if cand.is_dir() and not cand.is_symlink() and (
                    (cand / PARTIAL).exists() or (cand / MARKER).exists()
                    or any((c / MARKER).exists() or (c / PARTIAL).exists()
                           for c in cand.iterdir() if c.is_dir())):
                shutil.rmtree(cand, ignore_errors=True)
                removed.append(cand)
            elif cand.is_file() and not cand.is_symlink() and infix == TMP_INFIX:
                cand.unlink(missing_ok=True)
                removed.append(cand)
    return removed


def _partial_payload() -> str:
    return json.dumps({"writer": "edam-clearing", "pid": os.getpid(), "host": os.uname().nodename})


def _writer_alive(partial: Path) -> bool:
    """True if `partial` names a process of this host that is still running (its temporary
    is being written, not stale)."""
    try:
        data = json.loads(partial.read_text(encoding="utf-8"))
        pid, host = int(data["pid"]), str(data["host"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False  # no readable owner: a temporary of a killed writer
    if host != os.uname().nodename:
        return True  # another host's process: cannot tell, leave it
    if pid == os.getpid():
        return False  # this process is not writing it now: left by an earlier failure
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _marker_payload(kind: str, extra: dict | None) -> str:
    return json.dumps({"kind": kind, "writer": "edam-clearing", **(extra or {})}, indent=2,
                      sort_keys=True)


def mark_output_dir(path: str | Path, kind: str, marker_extra: dict | None = None) -> Path:
    """Write the marker that makes the existing folder `path` an output of `kind` (for
    folders that are filled in place, such as a run store's root)."""
    p = Path(path)
    tmp = p / f".{MARKER}.tmp"
    tmp.write_text(_marker_payload(kind, marker_extra))
    os.replace(tmp, p / MARKER)
    return p / MARKER


def write_output_dir(path: str | Path, kind: str, fill: Callable[[Path], None], *,
                     overwrite: bool = False, forbid_inside: Iterable[str | Path] = (),
                     marker_extra: dict | None = None) -> Path:
    """Write a folder atomically: `fill(tmp)` fills a temporary sibling, which is swapped in.

    The target is checked first (`check_output_target`); a previous output of the same kind is
    replaced only with `overwrite=True`. Nothing partial is ever left under the target's name.
    """
    out = check_output_target(path, kind, overwrite=overwrite, forbid_inside=forbid_inside)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_INFIX}", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; outputs are for others to read
    (tmp / PARTIAL).write_text(_partial_payload())
    try:
        fill(tmp)
        (tmp / MARKER).write_text(_marker_payload(kind, marker_extra))
        (tmp / PARTIAL).unlink()
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}{OLD_INFIX}", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_output_file(path: str | Path, kind: str, data: str | bytes, *, signature: bytes,
                      overwrite: bool = False, forbid_inside: Iterable[str | Path] = ()) -> Path:
    """Write one file atomically; an existing file is replaced only if it carries `signature`
    (which `data` must contain) and `overwrite` is set."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if signature not in raw[:65536]:
        raise ValueError("the data must carry its signature in its first 64 KiB")
    out = check_output_target(path, kind, overwrite=overwrite, forbid_inside=forbid_inside,
                              is_file=True, signature=signature)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}{TMP_INFIX}", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out


def beside(path: str | Path, suffix: str) -> Path:
    """The default output of a command that analyses the run (or store) at `path`: a sibling
    named ``<name><suffix>`` (e.g. ``runs/day_settlement``), so the run stays a record
    (issue "Runs are records": analysis never writes into the run's folder)."""
    p = Path(os.path.abspath(Path(path).expanduser()))
    return p.parent / f"{p.name}{suffix}"


def refuse_inside(path: str | Path, folders: Iterable[str | Path], what: str = "run") -> None:
    """Raise `OutputPathError` if `path` is one of `folders` or inside one: the records an
    analysis reads (a run, a reference, a store) are never written into."""
    target = Path(os.path.abspath(Path(path).expanduser())).resolve()
    for folder in folders:
        f = Path(folder).expanduser().resolve()
        if target == f or _inside(target, f):
            raise OutputPathError(f"output {str(path)!r} is inside the {what} folder "
                                  f"{str(folder)!r}, which is a record and is never written; "
                                  "write beside it (the default) or elsewhere")
