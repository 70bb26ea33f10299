"""Answer formats: how a task model's output is parsed and scored.

Every task names one answer format. A format knows three things:

* ``follow_up(question)``: the second-round user message of two-round
  extraction, which asks the model for nothing but its final answer;
* ``extract(text, question)``: the prediction parsed out of a model output, as
  a normalized string (``None`` when no answer can be found);
* ``score(prediction, target)``: a number in ``[0, 1]`` (``1.0`` for a
  correct answer; ROUGE-L F1 for free text).

Parsing follows the paper's protocol, made robust to chatty small models. An
output is first cut after its last answer marker ("the answer is", "Answer:",
"final answer", "####"); the start of that part is parsed, then the earlier
markers, and only then the whole text, where the last clear mention wins.
Markdown emphasis, ``$`` signs, back-ticks and ``\\boxed{...}`` are removed
first. The question is only used as data (its option lines, its word list, its
bracket sequence), never put into a regular expression, so questions and
prompts that contain newlines cannot break extraction.

The Instruction Induction formats (``ii_exact``, ``ii_contains``, ``ii_set``, ``ii_f1``) only find
the answer in an output; their scores are the benchmark's own metric, in
:mod:`gpo.scoring.ii_metric`.

Pass the example's question to :meth:`AnswerFormat.extract`: multiple choice
uses it to map an option's text to its letter, word sorting to find the sorted
list among chatter, and Dyck to drop an echo of the given sequence.

Each kind of format has its module (:mod:`~gpo.scoring.choice`, :mod:`~gpo.scoring.boolean`,
:mod:`~gpo.scoring.numeric`, :mod:`~gpo.scoring.dyck`, :mod:`~gpo.scoring.word_sort`,
:mod:`~gpo.scoring.rouge`, :mod:`~gpo.scoring.induction`), built on
:class:`~gpo.scoring.base.AnswerFormat` and the shared helpers of
:mod:`~gpo.scoring.parsing`; :mod:`~gpo.scoring.formats` names them all. This package
re-exports the public names.
"""

from __future__ import annotations

from gpo.scoring.base import AnswerFormat, ExactFormat
from gpo.scoring.boolean import BooleanFormat
from gpo.scoring.choice import ChoiceFormat
from gpo.scoring.dyck import DyckFormat
from gpo.scoring.formats import ANSWER_FORMATS, get_answer_format, score_output
from gpo.scoring.induction import InductionFormat
from gpo.scoring.numeric import NumberFormat
from gpo.scoring.rouge import RougeFormat, rouge_l_f1
from gpo.scoring.word_sort import WordSortFormat

__all__ = [
    "ANSWER_FORMATS",
    "AnswerFormat",
    "BooleanFormat",
    "ChoiceFormat",
    "DyckFormat",
    "ExactFormat",
    "InductionFormat",
    "NumberFormat",
    "RougeFormat",
    "WordSortFormat",
    "get_answer_format",
    "rouge_l_f1",
    "score_output",
]
