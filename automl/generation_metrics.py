"""Scores of generated text against references (ABS-7): chrF and BLEU from sacrebleu, ROUGE-L on the same
tokens.

sacrebleu's "zh" tokenizer splits Chinese into characters and treats everything else as its default 13a
tokenizer does, so one setting serves Chinese, English and mixed text. ROUGE-L (the longest common
subsequence F-measure, as Lin 2004 defines it, averaged over sentences) is computed here on those tokens:
the rouge-score package is not installable from this project's registry, and its tokenizer drops
non-ASCII text, which would score every Chinese output 0. All three are on a 0-1 scale here (sacrebleu
reports 0-100).
"""

from __future__ import annotations

from collections.abc import Sequence

TOKENIZE = "zh"


def generation_scores(golds: Sequence[str], preds: Sequence[str]) -> dict[str, float]:
    """Corpus chrF and BLEU, sentence-averaged ROUGE-L, and the exact-match share, each 0-1."""
    from sacrebleu.metrics import BLEU, CHRF

    refs = [list(golds)]
    hyps = list(preds)
    bleu = min(1.0, BLEU(tokenize=TOKENIZE, effective_order=True).corpus_score(hyps, refs).score / 100)
    chrf = CHRF().corpus_score(hyps, refs).score / 100
    rouge = sum(rouge_l(g, p) for g, p in zip(golds, preds, strict=True)) / len(golds)
    exact = sum(g.strip() == p.strip() for g, p in zip(golds, preds, strict=True)) / len(golds)
    return {"chrf": chrf, "bleu": bleu, "rouge_l": rouge, "exact_match": exact}


def tokens(text: str) -> list[str]:
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

    return TokenizerZh()(text.strip()).split()


def rouge_l(reference: str, hypothesis: str) -> float:
    """ROUGE-L F1 of one hypothesis: LCS length over the hypothesis (precision) and the reference (recall)."""
    ref, hyp = tokens(reference), tokens(hypothesis)
    if not ref or not hyp:
        return float(ref == hyp)
    lcs = _lcs_length(ref, hyp)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hyp), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]
