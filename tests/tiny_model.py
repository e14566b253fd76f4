"""Builds a tiny transformer sentence-transformers model without the hub, to test the transformer path."""

from __future__ import annotations

from pathlib import Path


def build_tiny_model(folder: Path, texts: list[str], dimension: int = 32) -> Path:
    """A 2-layer random BERT with a WordPiece tokenizer trained on `texts`, mean pooling, normalisation and
    e5-style prompts, saved as a sentence-transformers model folder; returns its path."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    hf_dir = folder / "bert"
    hf_dir.mkdir(parents=True)
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    prompt_words = ["query: passage:"] * 10  # so the two prompts tokenize differently
    tokenizer.train_from_iterator(texts + prompt_words, trainers.WordPieceTrainer(vocab_size=800, special_tokens=specials))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    fast.save_pretrained(hf_dir)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=dimension, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=2 * dimension, max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(hf_dir)

    transformer = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()], device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
    )
    out = folder / "model"
    model.save(str(out))
    return out
