"""detente: label diplomatic quotes conciliatory / neutral / hostile and index tension day by day.

Example:
    >>> from model import predict
    >>> predict("We strongly condemn the provocation.").label  # doctest: +SKIP
    'hostile'
"""

from .index import tension_index
from .labels import LABELS
from .loader import Classifier, load_model
from .predict import Prediction, predict, predict_proba
from .score import ScoreSummary, score_file

__all__ = ["LABELS", "Classifier", "Prediction", "ScoreSummary", "load_model", "predict",
           "predict_proba", "score_file", "tension_index"]
__version__ = "0.1.0"
