"""The app's look: theme fonts, CSS and the keyboard shortcuts (no network: system fonts only)."""

from __future__ import annotations

from gradio_app.components import GRID_CSS

FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]

APP_CSS = (
    GRID_CSS
    + """
.fl-header h1 { margin: 0; font-size: 1.6rem; }
.fl-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.fl-chip { display: inline-block; padding: 2px 10px; border-radius: 999px; background: var(--color-accent-soft);
  font-size: 13px; margin-right: 6px; }
#review-question h2 { margin-top: 0; }
.fl-actions { align-items: flex-end !important; }
.fl-actions > button { align-self: flex-end; min-height: 44px; }
#review-yes { white-space: normal; overflow-wrap: anywhere; }  /* "Yes, <a long name>" wraps, never clips */
#persona-table { --font-mono: var(--font); }
.fl-status p { margin: 6px 0; }
.fl-keys { color: var(--body-text-color-subdued); font-size: 13px; }
.fl-tile.fl-pending img { opacity: .45; }
.fl-tile.fl-pending::after { content: attr(data-state); position: absolute; left: 0; right: 0; bottom: 22px;
  padding: 2px 0; background: rgba(15, 23, 42, .78); color: white; font-size: 12px; font-weight: 600; }
.fl-top { align-items: center !important; }
#undo-btn { max-width: 360px; }
.fl-keys kbd { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 5px; font-size: 12px; }
"""
)

# Y / N / S answer the review card and Ctrl+Z (Cmd+Z) undoes, unless the person is typing somewhere.
KEYBOARD_JS = """
<script>
document.addEventListener('keydown', (event) => {
  const target = event.target;
  const typing = target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'z' && !typing) {
    const undo = document.getElementById('undo-btn');
    if (undo && !undo.disabled) { event.preventDefault(); undo.click(); }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typing) return;
  const id = {y: 'review-yes', n: 'review-no', s: 'review-skip', b: 'review-back'}[event.key.toLowerCase()];
  const button = id && document.getElementById(id);
  if (button && button.offsetParent !== null && !button.disabled) { event.preventDefault(); button.click(); }
});
</script>
"""
