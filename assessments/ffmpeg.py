"""Which ffmpeg program the audio pipeline runs.

By default the static build shipped in the ``imageio-ffmpeg`` wheel: it needs no system
package, and it starts in ~10 ms where a distribution's dynamically linked ffmpeg spends
~80 ms loading libraries before it decodes anything — most of a short clip's conversion
time. ``FFMPEG_BINARY`` picks another program; an ``ffmpeg`` on ``PATH`` is the fallback.
"""

from __future__ import annotations

import functools
import shutil

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.cache
def ffmpeg_binary() -> str:
    configured = getattr(settings, "FFMPEG_BINARY", "")
    if configured:
        return configured
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise ImproperlyConfigured(
        "No ffmpeg found: install the imageio-ffmpeg package (a project dependency), "
        "or ffmpeg (sudo apt-get install ffmpeg), or set FFMPEG_BINARY."
    )
