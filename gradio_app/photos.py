"""The library as photos: each with its faces and who they are, filtered for the Photos tab.

One pass over images, faces and the snapshot, so a 10 000-photo library filters in well under a
second; the tab shows one page of the result at a time. No Gradio in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gradio_app.snapshot import Snapshot, face_caption
from resources.state_store.ports import PhotoLibrary
from resources.state_store.records import ImageStatus

SHOW = {  # filter -> what the tab calls it
    "all": "All photos",
    "person": "A person",
    "unknown": "Unknown faces",
    "no_face": "No face found",
    "error": "Could not read",
}


@dataclass(frozen=True)
class PhotoFace:
    face_id: str
    box: tuple[int, int, int, int]
    caption: str  # "Ada", "Ada?" (predicted), "unknown", "stranger", "not a face"
    persona_id: int | None  # labeled or predicted as


@dataclass(frozen=True)
class LibraryPhoto:
    key: str
    image_id: str | None  # None: the file could not be read at all
    status: ImageStatus
    reason: str | None = None
    faces: tuple[PhotoFace, ...] = ()

    @property
    def caption(self) -> str:
        if self.status == ImageStatus.ERROR:
            return f"could not read: {self.reason or 'unreadable'}"
        if self.status == ImageStatus.NO_FACE:
            return "no face found"
        if self.status == ImageStatus.NEW:
            return "faces not looked for yet"
        return ", ".join(f.caption for f in self.faces) or "no face kept"


def library_photos(
    store: PhotoLibrary, snap: Snapshot, show: str = "all", persona_id: int | None = None
) -> list[LibraryPhoto]:
    """The photos ``show`` asks for, newest first: all, those with ``persona_id`` (labeled or
    predicted), with an unknown face, with no face, or that could not be read."""
    if show not in SHOW:
        raise ValueError(f"no photo filter {show!r}; use one of {', '.join(SHOW)}")
    images = store.images()
    faces_of: dict[str, list[PhotoFace]] = {}
    if show in ("all", "person", "unknown"):
        for face in store.faces():
            faces_of.setdefault(face.image_id, []).append(_photo_face(snap, face.face_id, face.box))
    photos = [
        LibraryPhoto(i.key, i.image_id, i.status, i.reason, tuple(sorted(faces_of.get(i.image_id, []), key=_left)))
        for i in reversed(images)
    ]
    known = {i.key for i in images}
    unread = [LibraryPhoto(k, None, ImageStatus.ERROR, r) for k, r in sorted(store.unreadable_photos().items())]
    photos += [p for p in unread if p.key not in known]
    target = snap.resolve(persona_id) if persona_id is not None else None
    keep = {
        "all": lambda p: True,
        "person": lambda p: target is not None and any(f.persona_id == target for f in p.faces),
        "unknown": lambda p: any(f.caption == "unknown" for f in p.faces),
        "no_face": lambda p: p.status == ImageStatus.NO_FACE,
        "error": lambda p: p.status == ImageStatus.ERROR,
    }[show]
    return [p for p in photos if keep(p)]


def _photo_face(snap: Snapshot, face_id: str, box: tuple[int, int, int, int]) -> PhotoFace:
    label = snap.label_of(face_id)
    prediction = snap.open_prediction(face_id)
    persona = label if label is not None else prediction.persona_id if prediction else None
    return PhotoFace(face_id, box, face_caption(snap, face_id), persona)


def _left(face: PhotoFace) -> tuple[int, str]:
    return face.box[0], face.face_id


def page_of(photos: Sequence[LibraryPhoto], page: int, size: int) -> tuple[list[LibraryPhoto], int]:
    """One page of photos and the page number it really is (clamped to the pages there are)."""
    last = max(0, (len(photos) - 1) // size)
    page = min(max(int(page or 0), 0), last)
    return list(photos[page * size : (page + 1) * size]), page
