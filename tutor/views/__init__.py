"""Views of the tutor app: sign-in (``auth``) and the teacher pages (``teacher``)."""
