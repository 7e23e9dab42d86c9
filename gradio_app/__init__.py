"""The FaceLoop labeling app: people confirm and correct what the classifier predicts.

A map of the package, split the way the screen is: each tab has a view in ``tabs/`` and its
logic (plain functions over the stores, no Gradio, unit-tested without a browser) here, under
the same name.

Tab            view (Gradio)              logic (no Gradio)
-------------  -------------------------  ---------------------------------------------------
Review         ``tabs/review/tab.py``     ``review``: the review queue and its answers, and the
               ``tabs/review/             "Check these labels" card's labels (kept or fixed)
               check_labels.py``
People         ``tabs/people.py``         ``people``: everyone's face counts, predicted faces;
                                          add, rename, merge, delete people
Unknown faces  ``tabs/unknown.py``        ``unknown``: look-alike groups of faces nobody named
Photos         ``tabs/photos.py``         ``photos``: the library filtered, a page at a time
Add photos     ``tabs/add_photos.py``     ``uploads``: photos checked and stored; what became
                                          of them
Find similar   ``tabs/similar.py``        ``similar``: who is in a dropped photo, nearest faces
Classifier     ``tabs/classifier.py``     ``classifier``: what serves and how current it is,
                                          every version, the pin

Logic the whole page shares: ``snapshot`` (the state read once per request), ``labels`` (the
label events a click writes: confirm, correct, set aside, restore), ``undo`` (each browser's
steps, undone through the store), ``header`` (the header's status, and which prediction update
the page shows), ``formatting`` (numbers, times, names), ``errors`` (``ActionError``, a refusal
told to the person).

The page around the tabs: ``app`` (``build_app``: header, Undo, timers, the tabs), ``page``
(what every tab shares: ``Tab``, ``Page``, how a handler answers), ``context`` (``AppContext``:
the stores, settings and the pictures made from them), ``components`` (the face grid),
``theme`` (fonts, CSS, keyboard shortcuts).

Outside systems, only through ``adapters/``: ``dagster_status`` (Dagster's GraphQL API) and
``url_fetch`` (photos from a pasted URL, never from inside our network).

Starting it, in ``launch/``: ``server`` (``python -m gradio_app``) and ``demo`` (``make demo``:
Dagster and the app, started and stopped together).
"""
