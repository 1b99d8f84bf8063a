"""Classification heads on a BERT encoder.

The standard [CLS] head is transformers' own ``BertForSequenceClassification``. The mean-pooling head
below mirrors how all-MiniLM-L6-v2 was pre-trained (sentence embeddings are the mean of token vectors).
It lives in this package, so loading it never needs ``trust_remote_code``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import (AutoModelForSequenceClassification, BertConfig, BertModel,
                          BertPreTrainedModel)
from transformers.modeling_outputs import SequenceClassifierOutput

HEADS = ("cls", "mean")


class BertMeanPoolClassifier(BertPreTrainedModel):
    """BERT encoder, attention-masked mean of the last hidden states, dropout, linear classifier."""

    config_class = BertConfig

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], dtype=hidden.dtype, device=hidden.device)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        logits = self.classifier(self.dropout(pooled))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def network_class(head: str) -> type:
    """The class that builds (``from_pretrained``) a network with this head: the mean-pooling head is
    this package's own class, which transformers' auto classes do not know about.

    Example:
        >>> network_class("mean").__name__
        'BertMeanPoolClassifier'
    """
    return BertMeanPoolClassifier if head == "mean" else AutoModelForSequenceClassification
