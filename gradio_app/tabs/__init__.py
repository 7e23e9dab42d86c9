"""The views: one module per tab, in the order of the page (``review/``, ``people``, ``unknown``,
``photos``, ``add_photos``, ``similar``, ``classifier``); each builds its part of the page and
wires its own handlers, calling the logic module of the same name one level up.

Every tab exposes ``refresh_inputs``, ``outputs`` and ``refresh(values)`` (a ``{component:
value}`` dict), so the page can re-render the open tab after an Undo or a prediction update.
"""
