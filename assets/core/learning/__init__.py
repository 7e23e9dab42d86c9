"""Learning: the face graph and label spreading, the classifier and its training, the unknown
threshold, the calibrated chance, held-out metrics, the quality gate's rules, and scoring."""
