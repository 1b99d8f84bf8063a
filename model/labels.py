"""The one label order used everywhere: probability vectors, output columns and the saved id2label."""

LABELS: tuple[str, ...] = ("conciliatory", "neutral", "hostile")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{label}" for label in LABELS)
