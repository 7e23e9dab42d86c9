"""FaceLoop's tests. A regular package so ``tests.support`` imports the same way from pytest
(``pythonpath = ["."]``) and from ``python -m bench.<name>`` in the repository root, and no other
``tests`` package on sys.path can shadow it."""
