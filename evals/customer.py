"""The scripted customer: says the scenario's turns in order, and in between answers the agent's questions by
simple rules (identity details when asked to verify, yes/no to a confirmation, the order, items, option,
reason or address the scenario gives). A question it has no answer for lets it say its next turn; with no turn
left the conversation ends.

What the agent asks for is read from general concepts (:func:`question_in`), never from the agent's own
wordings, so the customer keeps understanding when those wordings change: any yes/no proposal is a
confirmation, a request to verify or for an email, a name or a zip code is identity, "which order" or an order
number is an order question, and so on.
"""

from __future__ import annotations

import re
from typing import Protocol

from evals.scenario import Answers, Customer

KINDS = ("confirm", "identity", "handoff", "reason", "address", "option", "items", "order")
"""What :func:`question_in` can return, in precedence order: when several sentences of one reply ask different
things, the first kind here wins (a yes/no proposal is what the agent waits for; then who the customer is)."""


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


_ORDER_ID = re.compile(r"#?\bW\d{6,8}\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=\?)(?=[(\[])")

_YES_NO = _rx(
    r"\(\s*(?:yes|y|s[ií]|oui|ja|sim)\s*/\s*(?:no|n|non|nein|n[ãa]o)\s*\)",
    r"\byes or no\b", r"\bs[ií] o no\b", r"\boui ou non\b", r"\bja oder nein\b",
    r"\b(?:reply|answer|respond|say|type|write)(?: with)? \W?(?:yes|y)\W? (?:to|and|if|or)\b",
)
"""An explicit yes/no answer format: a confirmation whatever else the sentence says."""

_REQUEST = _rx(
    r"^\W*(?:(?:ok(?:ay)?|great|sure|thanks?(?: you)?|alright|so|and|also|now|first|then|just|next|lastly|"
    r"to (?:continue|proceed|start|check|help|do that|get started)[^,:]*)\W+)*"
    r"(?:please|kindly|let me know|tell me|give me|send me|share|provide|type|enter|write|reply|respond|answer|"
    r"choose|pick|select|confirm|specify|describe|include|say which|say if|say whether)\b"
    r"(?! (?:note|allow|keep|be aware|expect|remember|bear|wait|hold)\b)",
    r"\bplease (?:\w+ )?(?:tell|give|send|share|provide|type|enter|write|reply|answer|say|choose|pick|select|"
    r"confirm|specify|describe|check|let me know|include|add)\b",
    r"\blet me know\b", r"\b(?:try|check) (?:it |them |that )?again\b",
    r"\b(?:i|we)(?:'ll| will| would|'d)? (?:just |first |still |also )?(?:need|require)\b"
    r"(?! (?:a moment|a second|to check with|to look))",
    r"\bi(?:'d| would) (?:like|love) to (?:know|have|get|see)\b",
)
"""A sentence that asks for something without a question mark ("Please tell me ...", "I'll need ...")."""

_INTERROGATIVE = re.compile(
    r"^\W*(?:why|which|where|how come|what(?:'s| is| are| would| do| did| should| kind| size| colou?r)|(?:shall|should|"
    r"may|can|could) (?:i|we)|(?:would|could|can|will|do|did) you|is (?:it|that|this|there)|are you)\b", re.IGNORECASE)
"""A sentence that starts like a question, even without its question mark."""

_WH = re.compile(r"\b(?:which|what|qu[eé]|cu[aá]l|quel(?:le)?s?|welche[rsn]?)(?:'s| is| are| was)?\s+"
                 r"(?:of\s+)?(?:(?:the|your|these|those|this|that|my|new|other|delivery|shipping|correct|right|"
                 r"exact|best|main|full|ideal|es|la|el|le|les|tu|su|votre|ihre?)\s+){0,3}(\w[\w-]*)", re.IGNORECASE)
_WH_TARGETS = {
    "order": "order", "orders": "order", "purchase": "order", "purchases": "order", "package": "order",
    "packages": "order", "shipment": "order", "parcel": "order", "pedido": "order", "commande": "order",
    "bestellung": "order",
    "item": "items", "items": "items", "product": "items", "products": "items", "thing": "items",
    "things": "items", "article": "items", "articles": "items", "piece": "items", "pieces": "items",
    "produit": "items", "produits": "items", "artículo": "items", "artículos": "items",
    "option": "option", "options": "option", "colour": "option", "color": "option", "colours": "option",
    "colors": "option", "size": "option", "sizes": "option", "variant": "option", "variants": "option",
    "version": "option", "style": "option", "shade": "option", "capacity": "option", "material": "option",
    "model": "option", "talla": "option", "taille": "option", "couleur": "option",
    "address": "address", "addresses": "address", "dirección": "address", "direccion": "address",
    "adresse": "address",
    "reason": "reason", "reasons": "reason", "motivo": "reason", "raison": "reason",
    "email": "identity", "e-mail": "identity", "zip": "identity", "correo": "identity", "courriel": "identity",
}
""""Which/what X": the noun X says what is asked (a wh-question is never a yes/no proposal)."""

_IDENTITY = _rx(
    r"\bverif(?:y|ied|ication|ying)\b", r"\bidentity\b", r"\bidentify\b", r"\bwho you are\b",
    r"\bzip\b", r"\bzip ?codes?\b", r"\bpost(?:al)? ?code\b", r"\bfull name\b", r"\b(?:first|last) name\b",
    r"\b(?:what|which)(?:'s| is| are)? (?:your|the) (?:e-?mail|name)\b",
    r"\b(?:tell|give|send|share|provide|type|enter|need|have|get|know|confirm)(?: me| us)?(?: with)? (?:your|the)"
    r" (?:e-?mail|name)\b", r"\bcorreo\b", r"\bcourriel\b", r"\bc[oó]digo postal\b", r"\bcode postal\b",
    r"\bverific", r"\bv[ée]rifi", r"\bpostleitzahl\b",
)
"""Asking who the customer is: verification, an email, a name, a zip code."""

_FACT_CUES = {
    "email": _rx(r"\be-?mail\b", r"\bcorreo\b", r"\bcourriel\b"),
    "name": _rx(r"\bname\b", r"\bnombre\b", r"\bnom\b"),
    "zip": _rx(r"\bzip\b", r"\bpost(?:al)? ?code\b", r"\bc[oó]digo postal\b", r"\bcode postal\b",
               r"\bpostleitzahl\b"),
}
"""The facts about themselves that an identity question names."""
_FACT_WORDS = {"email": "email", "name": "name", "zip": "zip code"}

_IDENTITY_WEAK = _rx(
    r"\be-?mail(?: address)? (?:on|for|linked|associated|registered|tied|you used|that you used|used|you signed)",
    r"\b(?:look up|find|locate|pull up|access) (?:your|the) account\b", r"\bsign(?:ed)? in\b",
    r"\blog(?:ged)? in\b", r"\byour e-?mail(?: address)?\W*$",
)
"""Identity cues that a proposal can carry too ("send the link to the email on your account?")."""

_IDENTITY_FAILED = _rx(
    r"\b(?:couldn't|could not|can't|cannot|unable to|wasn't able to|was not able to|didn't|did not) "
    r"(?:match|verify|find (?:an|your|any|the) account|locate (?:an|your|the) account)",
    r"\bdetails (?:don't|didn't|do not|did not) match\b", r"\bno account (?:matches|found|with)\b",
    r"\bdoesn't match (?:our|any|the) (?:records|account)",
)
"""Details that did not match: the agent asks for identity again (given any request in the reply)."""

_PROPOSAL = _rx(
    r"\b(?:shall|should|can|may|could) (?:i|we)\b(?! (?:have|get|ask|know|see|take|help|assist|do for|also|"
    r"answer|look into anything|do anything))",
    r"\b(?:do|would) you (?:like|want) (?:me|us) to\b", r"\bwant me to\b",
    r"\b(?:would|do) you (?:like|want) (?:to )?(?:proceed|go ahead|continue|confirm|do that|do this)\b",
    r"\bis (?:that|this|it) (?:ok(?:ay)?|alright|all right|fine|right|correct|good|what you want)\b",
    r"\b(?:does|do) (?:that|this|these|everything) (?:look|sound)s? (?:right|good|ok(?:ay)?|correct|fine)\b",
    r",\s*(?:right|correct|ok(?:ay)?|yes)\s*\?", r"\bjust to (?:double-?)?check\b",
    r"\bare you sure\b", r"\bgo ahead\b", r"\bproceed\b", r"\bok(?:ay)? (?:to|if i)\b",
    r"\b(?:happy|ready) for me to\b",
    r"\bconfirm(?:ing)?\b(?! (?:your|the|which|what|that the) (?:e-?mail|name|zip|order|address|items?|reason|"
    r"size|colou?r|option|account))",
    r"\bcontin[uú]", r"\bconfirm[ae]", r"\bproc[ée]d", r"\bfortfahren\b", r"\b(?:le|lo|la) (?:cancelo|hago)\b",
    r"\bje (?:l'|le |la )?(?:annule|fais)\b",
)
"""A yes/no proposal: the agent offers to do something and waits for the customer's word."""

_ALTERNATIVE = re.compile(
    r"\bor\b(?! (?:not|no|would|do|did|should|shall|is|are|anything|something|else|change|have|maybe|perhaps|if|"
    r"cancel that)\b)", re.IGNORECASE)
"""An either/or ("... to your account address or a new one?"): the content decides, not the yes/no."""

_PERSON = _rx(
    r"\b(?:a|the|our|one of our) (?:person|human|human agent|live agent|real person|colleagues?|specialists?|"
    r"representatives?|team members?|member of (?:our|the) team|support agents?|agents?)\b",
    r"\b(?:someone|somebody) (?:from|on|in) (?:our|the) (?:team|staff|support)\b",
    r"\btransfer you\b", r"\bhand (?:you|this|it) (?:over|off)\b", r"\bconnect you\b", r"\bescalate\b",
)
"""An offer of a person: not a confirmation of the task."""

_REASON = _rx(
    r"\bwhy\b", r"\breasons?\b", r"\bhow come\b", r"\bwhat made you\b", r"\bwhat(?:'s| is) wrong with\b",
    r"\bwhat(?:'s| is) the (?:problem|issue) with\b", r"\bno longer (?:need|want)", r"\b(?:ordered|bought|"
    r"purchased) (?:it |them |this |that )?(?:by mistake|in error|accidentally)", r"\bchange(?:d)? (?:your|of) mind\b",
    r"\bwhat happened (?:with|to) (?:it|them|the)\b", r"\bpor qu[eé]\b", r"\bmotivo\b", r"\bpourquoi\b",
    r"\braison\b", r"\bwarum\b", r"\bgrund\b",
)
"""Asking why (the reason for a cancellation or a return)."""

_ADDRESS = _rx(
    r"(?<!e-mail )(?<!email )\baddress(?:es)?\b",
    r"\bwhere (?:should|shall|would|do|can|will|to|does|must)\b[^?]*?\b(?:go|send|ship|deliver|mail|sent|shipped|"
    r"delivered|arrive|live|redirect)\w*", r"\bwhere to (?:send|ship|deliver|mail)\b",
    r"\b(?:ship|send|deliver|mail)(?:ed|ing)? (?:it|them) to\W*$", r"\bdirecci[oó]n\b", r"\badresse\b(?! e-?mail)",
    r"\bendere[çc]o\b", r"\bindirizzo\b", r"\banschrift\b",
)
"""Asking where an order should go."""

_OPTION = _rx(
    r"\boptions?\b", r"\bcolou?rs?\b", r"\bsizes?\b", r"\bvariants?\b", r"\bversions?\b", r"\bstyles?\b",
    r"\bshades?\b", r"\binstead\b", r"\b(?:replace|swap|exchange|trade) (?:it|them|that|those) (?:for|with)\b",
    r"\bin (?:its|their) place\b", r"\b(?:swap|exchange|change|switch)\w* (?:it|them)? ?(?:for|to|into) what\b",
    r"\bwhat (?:would|do) you (?:like|want) (?:it|them|to get) (?:to be )?(?:swapped|exchanged|changed|switched)? ?"
    r"(?:for|to|into|instead)\b", r"\btalla\b", r"\btaille\b", r"\bcouleur\b", r"\bfarbe\b", r"\bgr(?:ö|oe)(?:ß|ss)e\b",
)
"""Asking which option (colour, size, variant) something should become."""

_ITEMS = _rx(
    r"\bwhich (?:of the |of these |of those )?(?:items?|products?|things?|pieces?|articles?|parts?)\b",
    r"\bwhat (?:items?|products?)\b", r"\bwhich of (?:the|these|those|them|your|its)\b(?! orders)",
    r"\b(?:whole|entire|full|complete) order\b[^?]*\bor\b", r"\bor (?:just|only) (?:the|one|some|part)\b",
    r"\ball (?:of )?(?:them|the items|items|of it)\b[^?]*\bor\b", r"\bor (?:all|both)(?: of them)?\W*$",
    r"\bor say \W*all\b", r"\b(?:name|tell me|say|list) (?:the |which )?items?\b", r"\bitems? you mean\b",
    r"\bwhat (?:would|do) you (?:like|want|need) to (?:return|exchange|swap|send back|replace|refund|change)\b",
    r"\bwhat are you (?:returning|exchanging|sending back|replacing)\b", r"\bitems? (?:do|would|did|should) you\b",
    r"\bqu[eé] (?:art[ií]culos?|productos?)\b", r"\bquel(?:s|le|les)? (?:articles?|produits?)\b",
)
"""Asking which items (of an order) the customer means."""

_ORDER = _rx(
    r"\bwhich (?:of (?:your|these|those|the) )?(?:orders?|purchases?|packages?|shipments?|deliveries|parcels?)\b",
    r"\bwhat (?:order|purchase|package)\b", r"\border (?:number|no\.?|id|#|reference|ref)\b",
    r"\b(?:number|id|reference) (?:of|for) (?:the|your|that) order\b", r"\bwhat(?:'s| is| was) the order\b",
    r"\b(?:do|did) you mean\b[^?]*(?:#?W\d{6,8}|\border\b)",
    r"\b(?:referring to|talking about|asking about)\b[^?]*(?:#?W\d{6,8}|\border\b)",
    r"\bis (?:it|this|that) (?:about|for|regarding) (?:order|#?W\d)",
    r"\b(?:know|tell me|give me|need) (?:the|which|your) order\b",
    r"\bn[uú]mero de (?:pedido|orden)\b", r"\bnum[ée]ro de commande\b", r"\bbestellnummer\b",
)
"""Asking which order the customer means."""

_WHICH_ONE = re.compile(r"\bwhich (?:one|ones)\b", re.IGNORECASE)
_MORE_HELP = re.compile(r"\b(?:anything|something) else\b", re.IGNORECASE)
"""An offer of more help ("Is there anything else I can do?"): it asks for nothing."""
_CONTENT = (("reason", _REASON), ("address", _ADDRESS), ("option", _OPTION), ("items", _ITEMS), ("order", _ORDER))


def question_sentences(reply: str) -> list[str]:
    """The sentences of ``reply`` that ask the customer something: a question mark, an explicit yes/no format,
    or a request ("Please tell me ...", "I'll need ..."); not an offer of more help."""
    parts = [p.strip() for p in _SENTENCE.split(reply or "") if p and p.strip() and not _MORE_HELP.search(p)]
    return [p for p in parts if "?" in p or "¿" in p or _YES_NO.search(p) or _REQUEST.search(p)
            or _INTERROGATIVE.search(p)]


def _wh_target(sentence: str) -> str | None:
    for found in _WH.finditer(sentence):
        kind = _WH_TARGETS.get(found.group(1).casefold())
        if kind:
            return kind
    return None


_VERIFY = re.compile(r"\bverif|\bv[ée]rifi", re.IGNORECASE)


def _sentence_before(sentence: str, reply: str) -> str:
    """The sentence of ``reply`` just before ``sentence``: what a bare "Which one?" or "What is it?" refers to."""
    parts = [p.strip() for p in _SENTENCE.split(reply or "") if p and p.strip()]
    where = parts.index(sentence) if sentence in parts else 0
    return parts[where - 1] if where > 0 else ""


def _sentence_kind(sentence: str, reply: str) -> str | None:
    """What one question sentence asks for."""
    if _YES_NO.search(sentence):
        return "confirm"
    wh = _wh_target(sentence)
    if wh:
        return wh
    if _IDENTITY.search(sentence) and (not _ADDRESS.search(sentence) or _VERIFY.search(sentence)):
        return "identity"  # a zip code asked for as part of an address is the address
    proposal = _PROPOSAL.search(sentence)
    if proposal and _PERSON.search(sentence) and not re.search(r"approv", sentence, re.IGNORECASE):
        return "handoff"
    either_or = bool(_ALTERNATIVE.search(sentence[proposal.start():] if proposal else sentence))
    if proposal and not either_or:
        return "confirm"
    if _IDENTITY_WEAK.search(sentence):
        return "identity"
    for kind, pattern in _CONTENT:
        if pattern.search(sentence):
            return kind
    before = _sentence_before(sentence, reply)  # "... two reasons: A or B. Which one fits?"
    for kind, pattern in _CONTENT:
        if pattern.search(before):
            return kind
    if _WHICH_ONE.search(sentence) or len(set(_ORDER_ID.findall(sentence))) >= 2:
        many_orders = len({o.upper().lstrip("#") for o in _ORDER_ID.findall(reply)}) >= 2
        return "order" if many_orders or re.search(r"\borders\b", reply, re.IGNORECASE) else "items"
    return "confirm" if proposal else None


def question_in(reply: str) -> str | None:
    """What the agent asks the customer for in ``reply``: ``confirm`` (any yes/no proposal), ``identity``,
    ``handoff`` (an offer of a person), ``reason``, ``address``, ``option``, ``items``, ``order``; or None (no
    question, or one none of these answers, such as "Anything else?").

    Only the sentences that ask something are read, so a receipt that names an order is not a question about
    the order; when several sentences ask different things, the first kind in :data:`KINDS` wins."""
    sentences = question_sentences(reply)
    if not sentences:
        return None
    if _IDENTITY_FAILED.search(reply):
        return "identity"
    kinds = {kind for s in sentences if (kind := _sentence_kind(s, reply))}
    return next((kind for kind in KINDS if kind in kinds), None)


def question_text(reply: str, kind: str | None = None) -> str:
    """The asking part of a reply, normalised (case, spacing, punctuation): two replies asking the same thing
    the same way have the same question text. With ``kind``, only the sentences asking for that (all asking
    sentences when none does by itself, such as "Please check them and try again")."""
    sentences = question_sentences(reply)
    if kind is not None:
        sentences = [s for s in sentences if _sentence_kind(s, reply) == kind] or sentences
    # a bare yes/no ("Shall I go ahead?") asks about the sentence before it: two proposals differ by it
    asked = [f"{_sentence_before(s, reply)} {s}" if _YES_NO.search(s) or _PROPOSAL.search(s) else s for s in sentences]
    return " ".join(re.sub(r"[^\w#$@./-]+", " ", " ".join(asked).casefold()).split())


_PERSON_WORDS = (r"(?:real |actual |live |human )?(?:human|person|people|agent|rep|representative|manager|supervisor|"
                 r"operator|someone|somebody|persona|humano|agente|personne|humain|conseiller|mensch|mitarbeiter)")
_WANTS_PERSON = _rx(
    rf"\b(?:talk|speak|chat|hablar|parler|sprechen)(?:ing)? (?:to|with|con|avec|à|a|mit) "
    rf"(?:a |an |the |your |some |una? |un |einem )?{_PERSON_WORDS}",
    rf"\b(?:want|need|get|give|see|quiero|veux|will)(?: me)? (?:a |an |to (?:talk|speak) (?:to|with) (?:a |an )?)?"
    rf"{_PERSON_WORDS}\b",
    r"\b(?:put|transfer|connect|pass|send) me (?:through|to|with)\b", r"\bescalate\b",
    rf"^\W*{_PERSON_WORDS}\W*(?:please|pls|plz|now)?\W*$",
)
_ABOUT_THE_BOT = re.compile(r"^\W*(?:am i|are you|is (?:this|it|that)|r u|est-ce que je|estoy)\b", re.IGNORECASE)


def wants_person(message: str) -> bool:
    """The customer asks for a person ("let me talk to a human", "agent please"), as opposed to asking whether
    it is talking to one ("am I talking to a real person?")."""
    asks = [s for s in _SENTENCE.split(message) if s.strip() and not _ABOUT_THE_BOT.search(s)]
    return any(_WANTS_PERSON.search(s) for s in asks)


class Simulator(Protocol):
    """Produces the customer's next message from the agent's last reply; None ends the conversation."""

    def next_message(self, reply: str | None) -> str | None: ...


class ScriptedCustomer:
    """Plays a scenario's customer."""

    def __init__(self, turns: list[str], answers: Answers, *, customer: Customer, max_turns: int) -> None:
        self._turns = list(turns)
        self._answers = answers
        self._customer = customer
        self._budget = max_turns
        self._facts_given: set[str] = set()
        self._said: list[str] = []
        self._asked: dict[str, int] = {}

    def next_message(self, reply: str | None) -> str | None:
        if self._budget <= 0:
            return None
        message = self._answer(reply) if reply is not None else None
        if message is None and self._turns:
            message = self._turns.pop(0)
        if message is not None:
            self._budget -= 1
            self._said.append(message)
        return message

    def _answer(self, reply: str) -> str | None:
        kind = question_in(reply)
        if kind is None:
            return None
        if kind == "identity":
            return self._identity(reply)
        if kind == "handoff":
            return "yes" if any(wants_person(m) for m in self._said) else None
        return self._nth(kind, getattr(self._answers, kind))

    def _nth(self, kind: str, answer: str | list[str] | None) -> str | None:
        """The answer for the n-th time ``kind`` is asked (a list gives them in turn, its last one repeats)."""
        times = self._asked.get(kind, 0)
        self._asked[kind] = times + 1
        if isinstance(answer, list):
            return answer[min(times, len(answer) - 1)] if answer else None
        return answer

    def _identity(self, question: str) -> str | None:
        """The facts about themselves that ``question`` asks for and the customer knows (with none named, the
        ones they would give first); asked again for facts already given, they did not match: give up."""
        customer = self._customer
        known = {"email": customer.email if customer.verify_with != "name_zip" else None,
                 "name": customer.name, "zip": customer.zip}
        asked = [fact for fact, cue in _FACT_CUES.items() if known[fact] and cue.search(question)]
        if not asked:
            asked = ["email", "zip"] if known["email"] else ["name", "zip"]
        new = [fact for fact in asked if known[fact] and fact not in self._facts_given]
        if not new:
            return None
        self._facts_given.update(new)
        return " and ".join(f"my {_FACT_WORDS[fact]} is {known[fact]}" for fact in new)
