"""A build context, archived the way a task's own docker client archives it.

The legacy builder's cache key for a COPY is a checksum of the copied files' tar headers,
and the headers depend on the client that made the archive: the docker CLI in a task's
client image (Debian's docker.io, built with Go's archive/tar) writes the file type into
the mode field (0100644), docker-py and newer CLIs do not (0000644). So the layers the
pipeline builds (bring-up, the mask's build) were never a cache hit for the same build run
by run-tests.sh in the gate or in a harness: every trial downloaded and compiled the
service's dependencies again. Archived like that CLI, the same files give the same layers.

What goes in follows docker-py's own path builds: `.dockerignore` is honoured, and a
Dockerfile outside the context travels in the archive under a name of its own.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.api.build import process_dockerfile
from docker.utils.build import exclude_paths

#: the file-type bits Go's archive/tar puts in a header's mode (c_ISDIR, c_ISLNK, c_ISREG)
_TYPE_BITS = {tarfile.DIRTYPE: 0o040000, tarfile.SYMTYPE: 0o120000, tarfile.REGTYPE: 0o100000}


class _ClientTarInfo(tarfile.TarInfo):
    """A header with the file type in its mode, as the task client's docker CLI writes it
    (Python's tarfile keeps only the permission bits)."""

    def tobuf(self, format=tarfile.DEFAULT_FORMAT, encoding=tarfile.ENCODING, errors="surrogateescape") -> bytes:
        buf = bytearray(super().tobuf(format, encoding, errors))
        header = len(buf) - tarfile.BLOCKSIZE  # a long name's extended headers come first
        kind = _TYPE_BITS.get(self.type, 0)
        buf[header + 100 : header + 108] = b"%07o\0" % (kind | (self.mode & 0o7777))
        buf[header + 148 : header + 156] = b" " * 8  # the checksum counts its own field as spaces
        buf[header + 148 : header + 156] = b"%06o\0 " % sum(buf[header : header + tarfile.BLOCKSIZE])
        return bytes(buf)


@dataclass
class ContextArchive:
    file: IO[bytes]
    #: the Dockerfile's name inside the archive (what the build request names)
    dockerfile: str


def archive(context_dir: Path, dockerfile: str = "Dockerfile") -> ContextArchive:
    """The context at `context_dir` as a tar in a temporary file (closed by the caller)."""
    root = os.path.abspath(context_dir)
    ignore_file = Path(root) / ".dockerignore"
    exclude: list[str] = []
    if ignore_file.is_file():
        lines = (line.strip() for line in ignore_file.read_text(errors="replace").splitlines())
        exclude = [line for line in lines if line and not line.startswith("#")]
    name, outside_contents = process_dockerfile(dockerfile, root)
    extra: dict[str, bytes] = {}
    if outside_contents is not None:
        ignored = "\n".join([*(exclude or [".dockerignore"]), name])
        extra = {".dockerignore": ignored.encode(), name: outside_contents.encode()}
    file = tempfile.TemporaryFile()  # noqa: SIM115 - returned open: the build streams it, then closes it
    with tarfile.open(fileobj=file, mode="w", tarinfo=_ClientTarInfo) as tar:
        for path in sorted(exclude_paths(root, exclude, dockerfile=name)):
            if path in extra:
                continue
            full = os.path.join(root, path)
            info = tar.gettarinfo(full, arcname=path)
            if info is None:  # a socket
                continue
            # The client's copy of a repository is root's, whoever owns this one.
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = int(info.mtime)
            if info.isfile():
                with open(full, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
        for extra_name, contents in extra.items():
            info = _ClientTarInfo(extra_name)
            info.size = len(contents)
            tar.addfile(info, io.BytesIO(contents))
    file.seek(0)
    return ContextArchive(file=file, dockerfile=name)
