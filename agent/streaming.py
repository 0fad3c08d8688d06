"""Release reply text to the stream one checked sentence at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agent.events import ReplyReplaced, TextDelta
from agent.guardrails import Grounding, SentenceGate, inspect_sentence
from agent.guardrails._text import sentence_key
from agent.telemetry.rails import count_rail_hits
from agent.translation import Translator

FACT_RULES = frozenset({"ungrounded_fact", "wrong_status", "wrong_item", "wrong_day", "wrong_count"})
"""Rules a model sentence breaks by getting a fact wrong: code's sentences for the facts can take its place."""
STOOD_IN_FOR = FACT_RULES | {"unsupported_claim"}
"""Rules whose sentence a reply's ``stand_in`` may take the place of: a wrong fact, or a claim no help-center passage
makes (a help-center answer's sentence after one that was said is left out, with the rest)."""


class GuardedWriter:
    """Feeds text through the sentence gate and the output rails; only passing sentences are written, in the
    customer's language when a translator is given."""

    def __init__(self, write: Callable[[object], None], grounding: Grounding,
                 translator: Translator | None = None) -> None:
        self._write = write
        self._grounding = grounding
        self._gate = SentenceGate()
        self._translator = translator
        self._in_english = ""
        """The notice said once no safe translation was found (the rest of the turn is English)."""
        self.released = ""
        """The English text that passed the rails."""
        self.shown = ""
        """What the customer was shown: ``released`` or its translation."""
        self.trips: list[str] = []
        """The rule that stopped each withdrawn reply."""
        self.worded = 0
        """Sentences the model wrote that the rails read."""
        self.replaced: list[str] = []
        """The rule each of those sentences broke that the customer did not get as written: code's sentences said in
        its place (:data:`STOOD_IN_FOR`), or its whole reply withdrawn."""
        self.rewritten: list[str] = []
        """The rule each of those sentences broke that the model wrote again before anything of them was shown
        (:meth:`stream_once`'s ``again``)."""
        self._said: set[str] = set()
        self._cut = False
        """The rest of the model's stream is dropped: it started repeating itself (small models loop), or code's
        sentences took the place of a wrong fact (a model that got one wrong is not trusted with what follows)."""

    def _release(self, sentences: Iterable[str], amend: Callable[[str], str] | None = None,
                 stand_in: Callable[[], list[str] | None] | None = None) -> bool:
        for said in sentences:
            sentence = amend(said) if amend else said
            key = sentence_key(sentence)
            if key in self._said and not self._grounding.trusted:  # code may say a sentence twice (two orders)
                self._cut = True
                return True
            self._said.add(key)
            verdict = inspect_sentence(sentence, self._grounding)
            count_rail_hits("output", verdict)
            self.worded += not (self._grounding.trusted or self._grounding.quoted)
            if (rule := verdict.rule) and stand_in and rule in STOOD_IN_FOR:
                self.replaced.append(rule)
                if (instead := stand_in()) is not None:
                    self._cut = True
                    return self._say_instead(instead)
                self.replaced.pop()  # no stand-in: the sentence fails
            if rule:
                self.trips.append(rule)
                return False
            self.released += sentence
            self._show(sentence)
        return True

    def _say_instead(self, sentences: list[str]) -> bool:
        """Release code's ``sentences`` where a model sentence was."""
        if not sentences:
            return True
        said = [f"{s.strip()} " for s in sentences]  # one by one, as the translator says them
        said[0] = f"{' ' if self.released and not self.released[-1].isspace() else ''}{said[0]}"
        said[-1] = said[-1].rstrip()
        saved, self._grounding = self._grounding, Grounding(trusted=True)
        try:
            return self._release(said)
        finally:
            self._grounding = saved

    def _show(self, sentence: str) -> None:
        """Write ``sentence`` in the customer's language; the first one that cannot be translated safely switches
        the reply to English, with a notice saying so in their language (never half translated)."""
        if self._translator is None:
            if self._in_english and not self.shown:  # a reply said again after the switch to English
                sentence = f"{self._in_english} {sentence.lstrip()}"
            self.shown += sentence
            self._write(TextDelta(text=sentence))
            return
        translated = self._translator(sentence)
        if translated is not None:
            self.shown += translated
            self._write(TextDelta(text=translated))
            return
        self._in_english, self._translator = self._translator.in_english_notice(), None
        if self.shown:
            self._write(ReplyReplaced(rule="untranslated"))
        self.shown = f"{self._in_english} {self.released.lstrip()}"
        self._write(TextDelta(text=self.shown))

    def stream(self, deltas: Iterable[str], *, grounding: Grounding | None = None,
               amend: Callable[[str, str], str] | None = None,
               stand_in: Callable[[str], list[str] | None] | None = None) -> bool:
        """Release ``deltas`` sentence by sentence; stop at the first failing sentence (returns False).
        ``grounding``: what these deltas are checked against, instead of the writer's own; ``amend``: rewrites
        each sentence, given what these deltas released before it, before the rails read it; ``stand_in``: code's
        sentences to say in place of the first that gets a fact wrong and all after it, given what these deltas
        released before it (without it, or when it gives None, such a sentence fails)."""
        if grounding is not None:
            saved, self._grounding = self._grounding, grounding
            try:
                return self.stream(deltas, amend=amend, stand_in=stand_in)
            finally:
                self._grounding = saved
        start = len(self.released)
        amended = (lambda sentence: amend(self.released[start:], sentence)) if amend else None
        stood = (lambda: stand_in(self.released[start:])) if stand_in else None
        self._cut = False
        for delta in deltas:
            if not self._release(self._gate.feed(delta), amended, stood):
                return False
            if self._cut:
                self._gate = SentenceGate()  # the unfinished tail is not said either
                return True
        return self._release(self._gate.flush(), amended, stood)

    def stream_once(self, deltas: Iterable[str], *, answers: Callable[[str], bool],
                    amend: Callable[[str, str], str] | None = None,
                    stand_in: Callable[[str], list[str] | None] | None = None,
                    again: Callable[[str], tuple[str, Iterable[str]]] | None = None, lead: str = "") -> bool:
        """Like :meth:`stream`, but nothing is written until the text these deltas released ``answers`` (then
        what was held goes out and the rest streams): a reply that never answers is never shown (False,
        ``dropped_fact``), as one whose sentence fails a rail before it answers, and a sentence of it that could not
        be translated does not turn the rest of the turn English. What was held goes with a wrong sentence code's
        sentences stand in for before the reply answered (what led up to a wrong answer, "I can't find that order",
        is not said before code's). ``lead``: code's sentence held before these deltas. ``again``: given the rule
        this reply broke, the ``lead`` and the deltas of a second reply, streamed the same way when this one got a
        fact wrong or never answered before anything of it was shown (its sentences count as :attr:`rewritten`)."""
        write, start, shown, worded, said = self._write, len(self.released), self.shown, self.worded, set(self._said)
        translator, in_english = self._translator, self._in_english
        held: list[object] = []

        def hold(event: object) -> None:
            held.append(event)
            if answers(self.released[start:]):
                self._write = write
                for kept in held:
                    write(kept)

        def forget_held() -> None:
            self.released, self.shown, self._said = self.released[:start], shown, set(said)
            self._translator, self._in_english = translator, in_english
            held.clear()

        def standing_in(before: str) -> list[str] | None:
            if self._write is not write:  # not answered yet: the held sentences are never shown either
                if again is not None:
                    return None
                self.replaced += self.replaced[-1:] * (self.worded - 1 - worded)
                forget_held()
                before = ""
            return stand_in(before) if stand_in else []

        self._write = hold
        try:
            passed = self._say_instead([lead] if lead else [])
            passed = passed and self.stream(deltas, amend=amend, stand_in=standing_in if stand_in else None)
        finally:
            answered, self._write = self._write is write, write
        if passed and not answered:
            self.trips.append("dropped_fact")
        if not answered:
            forget_held()
            if again is not None and self.trips[-1] in FACT_RULES | {"dropped_fact"}:
                rule = self.trips.pop()
                self.rewritten += [rule] * (self.worded - worded)
                self._gate = SentenceGate()
                lead, deltas = again(rule)
                return self.stream_once(deltas, answers=answers, amend=amend, stand_in=stand_in, lead=lead)
            return False
        return passed

    def replace(self, text: str) -> None:
        """Withdraw what was released and say ``text`` instead (itself checked)."""
        rule = self.trips[-1] if self.trips else "unknown"
        self.replaced += [rule] * (self.worded - len(self.replaced))
        self._write(ReplyReplaced(rule=rule))
        self.released = self.shown = ""
        self._said.clear()
        self._gate = SentenceGate()
        self._grounding = Grounding(trusted=True)
        if not self.stream([text]):
            raise ValueError(f"fallback reply fails the output rails: {text!r}")
