"""Stop storing an audio upload as soon as it passes the size limit.

Django's own handlers write a file part of any size to memory or a temporary file before a
view can look at it, so a learner could fill the disk with one request. This handler sits
first in the recording upload's chain: past ``AUDIO_MAX_UPLOAD_BYTES`` it drops the file
and marks the request, and the view answers with the usual "too large" message.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

TOO_LARGE_FLAG = "audio_upload_too_large"


class AudioSizeLimitUploadHandler(FileUploadHandler):
    def new_file(self, *args: object, **kwargs: object) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.AUDIO_MAX_UPLOAD_BYTES:
            setattr(self.request, TOO_LARGE_FLAG, True)
            # Read (and discard) the rest of the body so the browser still gets the answer;
            # resetting the connection would show the learner a network error instead.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers build the file
