"""The face grid: a selectable wall of face thumbnails, built on Gradio 6's templated ``gr.HTML``.

Selecting happens in the browser (a click toggles a face, "Select all" / "Clear" act at once),
so choosing 40 faces costs no round trips; the grid's value carries the selected ids to the
action buttons. Every string put into the template is HTML-escaped in Python first.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from urllib.parse import quote

import gradio as gr

from resources.artifact_store.base import ArtifactStore

GRID_TEMPLATE = """
<div class="fl-grid-wrap">
  ${value.selectable && value.faces.length ? `<div class="fl-bar">
      <span class="fl-count">${value.selected.length} of ${value.faces.length} selected</span>
      <button type="button" class="fl-all">Select all</button>
      <button type="button" class="fl-none">Clear</button>
      ${value.note ? `<span class="fl-note">${value.note}</span>` : ''}
    </div>` : (value.note ? `<div class="fl-bar"><span class="fl-note">${value.note}</span></div>` : '')}
  ${value.faces.length === 0 ? `<p class="fl-empty">${value.empty}</p>` : ''}
  <div class="fl-grid ${value.selectable ? 'fl-selectable' : ''}">
    ${value.faces.map(f => `<button type="button" class="fl-tile ${value.selected.includes(f.id) ? 'fl-sel' : ''}"
        data-id="${f.id}" title="${f.title}" aria-pressed="${value.selected.includes(f.id)}">
      <img src="${f.src}" loading="lazy" alt="face">
      ${f.badge ? `<span class="fl-badge fl-${f.tone}">${f.badge}</span>` : ''}
      ${value.selectable ? '<span class="fl-check">✓</span>' : ''}
      ${f.caption ? `<span class="fl-cap">${f.caption}</span>` : ''}
    </button>`).join('')}
  </div>
</div>
"""

GRID_JS = """
element.classList.add('fl-ready');
element.addEventListener('click', (event) => {
  if (!props.value || !props.value.selectable) return;
  const all = event.target.closest('.fl-all');
  const none = event.target.closest('.fl-none');
  const tile = event.target.closest('.fl-tile');
  let selected = new Set(props.value.selected || []);
  if (all) selected = new Set(props.value.faces.map(f => f.id));
  else if (none) selected = new Set();
  else if (tile) { const id = tile.dataset.id; selected.has(id) ? selected.delete(id) : selected.add(id); }
  else return;
  props.value = {...props.value, selected: [...selected]};
  trigger('change');
});
"""

GRID_CSS = """
.fl-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 10px; }
.fl-tile { position: relative; padding: 0; border: 3px solid transparent; border-radius: 10px; overflow: hidden;
  background: var(--block-background-fill); cursor: default; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.fl-selectable .fl-tile { cursor: pointer; }
.fl-selectable .fl-tile:hover { border-color: var(--color-accent-soft); }
.fl-tile img { display: block; width: 100%; aspect-ratio: 1 / 1; object-fit: cover; }
.fl-tile.fl-sel { border-color: var(--color-accent); }
.fl-check { position: absolute; top: 6px; left: 6px; width: 22px; height: 22px; border-radius: 50%;
  background: rgba(255,255,255,.85); color: transparent; font-weight: 700; line-height: 22px; font-size: 14px;
  border: 1px solid rgba(0,0,0,.2); }
.fl-sel .fl-check { background: var(--color-accent); color: white; border-color: white; }
.fl-badge { position: absolute; top: 6px; right: 6px; padding: 1px 7px; border-radius: 999px; font-size: 12px;
  font-weight: 600; color: white; }
.fl-low { background: #dc2626; } .fl-mid { background: #d97706; } .fl-high { background: #15803d; }
.fl-info { background: #475569; }
.fl-cap { display: block; padding: 3px 6px; font-size: 12px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; color: var(--body-text-color); }
.fl-bar { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; flex-wrap: wrap; }
.fl-bar button { padding: 3px 12px; border-radius: 999px; border: 1px solid var(--border-color-primary);
  background: var(--button-secondary-background-fill); cursor: pointer; font-size: 13px; }
.fl-count { font-weight: 600; }
.fl-note, .fl-empty { color: var(--body-text-color-subdued); font-size: 13px; }
.fl-empty { padding: 18px 4px; }
"""


@dataclass(frozen=True)
class Tile:
    face_id: str
    src: str
    caption: str = ""
    badge: str = ""
    tone: str = "info"  # low, mid, high, info
    title: str = ""


def grid_value(
    tiles: list[Tile], selectable: bool = True, selected: list[str] | None = None, empty: str = "", note: str = ""
) -> dict:
    """The grid's value; escaped here, because the browser template inserts it as HTML."""
    esc = html.escape
    return {
        "faces": [
            {
                "id": esc(t.face_id),
                "src": esc(t.src),
                "caption": esc(t.caption),
                "badge": esc(t.badge),
                "tone": t.tone if t.tone in {"low", "mid", "high", "info"} else "info",
                "title": esc(t.title),
            }
            for t in tiles
        ],
        "selected": [esc(s) for s in (selected or [])],
        "selectable": selectable,
        "empty": esc(empty),
        "note": esc(note),
    }


def selected_ids(value: dict | None) -> list[str]:
    """Selected face ids from a grid value sent back by the browser (unescaped, known faces only)."""
    if not isinstance(value, dict):
        return []
    known = {face.get("id") for face in value.get("faces", []) if isinstance(face, dict)}
    return [html.unescape(s) for s in value.get("selected", []) if isinstance(s, str) and s in known]


def face_grid(elem_id: str, value: dict | None = None) -> gr.HTML:
    """A face grid on the page (``elem_id`` is what tests and the keyboard script find it by)."""
    return gr.HTML(
        value=value or grid_value([]),
        html_template=GRID_TEMPLATE,
        js_on_load=GRID_JS,
        elem_id=elem_id,
        elem_classes=["fl-grid-host"],
        apply_default_css=False,
    )


def confidence_tone(confidence: float | None) -> str:
    """The badge colour for a chance: red under 50%, amber under 80%, green above; grey for none."""
    if confidence is None:
        return "info"
    return "low" if confidence < 0.5 else "mid" if confidence < 0.8 else "high"


def thumbnail_src(artifact_store: ArtifactStore, key: str) -> str:
    """A URL the browser can load: Gradio's file route for local artifacts, else an inline data URI."""
    path = artifact_store.local_path(key)
    if path is not None:
        return "gradio_api/file=" + quote(str(path))
    try:
        data = artifact_store.get(key)
    except KeyError:
        return ""
    mime = "image/png" if key.endswith(".png") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
