"""The TF-IDF + logistic-regression reference, trained and tested on our own split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class ReferenceResult:
    name: str
    settings: dict
    validation_accuracy: float
    test_predictions: list[int]


def tfidf_logistic_regression(
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    validation_texts: Sequence[str],
    validation_labels: Sequence[int],
    test_texts: Sequence[str],
    strengths: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0),
) -> ReferenceResult:
    """Word uni- and bigram TF-IDF (sublinear) into logistic regression; the regularisation
    strength C is chosen on the validation split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    train_features = vectorizer.fit_transform(train_texts)
    validation_features = vectorizer.transform(validation_texts)
    best = None
    for strength in strengths:
        classifier = LogisticRegression(C=strength, max_iter=5000)
        classifier.fit(train_features, train_labels)
        accuracy = classifier.score(validation_features, validation_labels)
        if best is None or accuracy > best[0]:
            best = (accuracy, strength, classifier)
    accuracy, strength, classifier = best
    return ReferenceResult(
        name="tfidf-logistic-regression",
        settings={"ngram_range": [1, 2], "sublinear_tf": True, "C": strength, "C_chosen_on": "validation"},
        validation_accuracy=float(accuracy),
        test_predictions=classifier.predict(vectorizer.transform(test_texts)).tolist(),
    )
