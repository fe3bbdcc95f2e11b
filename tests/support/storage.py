"""A real ``FileSystemStorage`` on a disk that fills up, for the storage-failure tests."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage

# For settings.STORAGES: Django builds the storage from this dotted path.
DISK_FILLS_UP = "tests.support.storage.DiskFillsUpStorage"


class _FirstChunkThenDiskFull(File):
    def chunks(self, chunk_size=None):
        self.file.seek(0)
        yield self.file.read(1024)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# Where DiskFillsUpStorage began writing: Django builds the storage, so a test cannot
# hold the instance.
files_begun: list[Path] = []


class DiskFillsUpStorage(FileSystemStorage):
    """Django's own file storage, on a disk that fills up after the first 1 kB of a file."""

    def _save(self, name, content):
        files_begun.append(Path(self.path(name)))
        return super()._save(name, _FirstChunkThenDiskFull(content))
