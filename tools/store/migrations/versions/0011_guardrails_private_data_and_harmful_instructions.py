"""guardrails: someone else's private data, other organisations' secrets, harmful instructions in a reply

Stored policy versions get what the bundled guardrails gained (each piece only when it is absent, so a section
ops edited keeps its own wording): the input rules ``private_data`` and ``confidential_info`` (after
``harmful``), three general patterns on the ``harmful`` rule (illegal trade, harassment and spam, fake
engagement; its child-abuse pattern now also reads "pornography"), the word lists ``private_data`` and
``hazards``, the output rule ``harmful_instructions`` (before ``sensitive_advice``) and the input classifier's
product-safety exception ("Is this product safe for kids?" is about the product). Downgrading removes them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 21:10:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_versions = sa.table("policy_versions", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))

WORDS: dict[str, list[str]] = {
    'private_data': [
        'bank account( details| numbers?| information)?',
        '(credit|debit|credit/debit) card( numbers?| details)?',
        'card numbers?',
        'social security( numbers?)?',
        'ssn',
        'passport( numbers?)?',
        "driver's licen[cs]e( numbers?)?",
        'pin( numbers?)?',
        'passwords?',
        'medical (history|records?|conditions?)',
        'blood type',
        'allergies',
        'sexual orientation',
        'religious (views|beliefs)',
        'political (views|beliefs|affiliation)',
        'net worth',
        'salary',
        'income',
        'financial (transactions|situation|details|records)',
        '(home|residential) address',
        'phone numbers?',
        'email address(es)?',
        'criminal (record|history)',
        'dna( sequence)?',
        'fingerprints',
        'marital status',
        'relationship status',
        'location',
        'whereabouts',
        'private (messages|photos|emails|information)',
    ],
    'hazards': [
        'explosives?',
        'detonators?',
        'blasting caps?',
        'gunpowder',
        'black powder',
        'thermite',
        'napalm',
        'ammonium nitrate',
        'potassium (nitrate|chlorate|perchlorate)',
        'acetone peroxide',
        'tatp',
        'nitroglycerin',
        'pipe bombs?',
        '(?<!bath\\x20)bombs?',
        'grenades?',
        'molotov( cocktails?)?',
        'shrapnel',
        'nerve (agents?|gas)',
        'sarin',
        'tabun',
        'soman',
        'vx',
        'ricin',
        'abrin',
        'anthrax',
        'botulinum',
        'mustard gas',
        'chlorine gas',
        'lewisite',
        'phosgene',
        'cyanide',
        'arsenic',
        'strychnine',
        'poisons?',
        'toxins?',
        'pathogens?',
        'bioweapons?',
        'chemical weapons?',
        'meth(amphetamine)?',
        'pseudoephedrine',
        'red phosphorus',
        'fentanyl',
        'heroin',
        'cocaine',
        'crack cocaine',
        'lsd',
        'mdma',
        'ketamine',
        'ghb',
        'precursors?',
        'safrole',
        'ghost guns?',
        'untraceable (guns?|firearms?|weapons?)',
        'silencers?',
        'suppressors?',
        'auto sears?',
        'firearms?',
        'ammunition',
        'malware',
        'ransomware',
        'keyloggers?',
        'rootkits?',
        'botnets?',
        'backdoors?',
        'reverse shell',
        'payloads?',
        'exploits?',
        'shellcode',
        'phishing',
        'metasploit',
        'msfvenom',
        'meterpreter',
        'sql injection',
        'cross-site scripting',
        'buffer overflow',
        'privilege escalation',
        'ddos',
        'stolen (credit cards?|cards?|identit(y|ies)|data|credentials)',
        'fake ids?',
        'counterfeit \\w+',
        'burner phones?',
        "the victim('s)?",
        'the evidence',
    ],
}
INPUT_RULES: list[dict[str, Any]] = [
    {
        'name': 'private_data',
        'flag': 'harmful',
        'patterns': [
            (
                '\\b(what|tell me|give me|provide|share|find|know|disclose|reveal|show me|look up|'
                'access|send me|list|get me|(details|information) (of|about|on))\\b.{0,40}\\b(?!(wh'
                'at|that|it|let|here|there|he|she|who|where|how|when|why|today|everyone|one|north'
                "wind|company|store)'s)(?-i:[A-Z][a-z]+)'s\\s+(\\w+\\s+)?{{private_data}}"
            ),
            (
                '\\b(what|tell me|give me|provide|share|find|know|disclose|reveal|show me|look up|'
                'access|send me|list|get me|(details|information) (of|about|on))\\b.{0,40}\\b(someo'
                'ne|somebody|a person|people|his|her|their|my (\\w+[- ])?(neighbou?r|boss|ex|ex-\\w'
                '+|co-?worker|colleague|teacher|classmate|employee|friend|teammate|fianc[eé]e?|si'
                'ster|brother|wife|husband|partner|girlfriend|boyfriend|doctor|nurse|patient|land'
                "lord|tenant)s?)'?s?\\s+(\\w+\\s+)?{{private_data}}"
            ),
            (
                '\\bmy\\s+(?!(?:{{support_terms}}|name|names)\\b)[\\w-]+( [\\w-]+)?,\\s+(?-i:[A-Z][a-z]'
                "+)('s)?\\b"
            ),
        ],
    },
    {
        'name': 'confidential_info',
        'flag': 'harmful',
        'unless': [
            (
                '\\b(my|our)\\s+(\\w+\\s+)?(information|info|data|details|records?|emails?|documents?'
                '|files?)\\b'
            ),
        ],
        'patterns': [
            (
                '\\b(classified|undisclosed|confidential|secret|proprietary|unannounced|covert|ste'
                'alth|unreleased|unpublished|internal)\\s+(\\w+\\s+)?(information|info|records?|repo'
                'rts?|plans?|strateg(y|ies)|operations?|communications?|newsletters?|memos?|email'
                's?|documents?|data|details|projects?|technolog(y|ies)|partnerships?|protocols?|m'
                'issions?|advancements?|meetings?|discussions?|negotiations?|mergers?|files?|rese'
                'arch)\\b'
            ),
            '\\btrade secrets?\\b|\\b(secretly|in stealth mode|behind closed doors)\\b',
        ],
    },
]
"""Inserted after the ``harmful`` input rule."""
HARMFUL_BEFORE = '\\b(child (porn|sexual)|csam|underage (sex|nude|porn))\\b'
HARMFUL_AFTER = '\\b(child (porn\\w*|sexual\\w*)|csam|underage (sex|nude|porn)\\w*)'
HARMFUL_REWORDED = {HARMFUL_BEFORE: HARMFUL_AFTER}
"""The ``harmful`` rule's child-abuse pattern, which missed "pornography"."""
HARMFUL_ADDED: list[str] = [
    (
        '\\b(black market|illegal (trade|substances|drugs|weapons|animals?|wildlife|firear'
        'ms?|guns?)|poach(ing|ers?)?|endangered (species|animals?)|animal parts|ivory tra'
        'de|(dog|cock|animal) ?fights?)\\b'
    ),
    (
        '\\b(how (to|can i|do i|would i)|help me|assist\\w*|can you|ways? to|steps? to)\\b.{'
        '0,40}\\b(spam|flood|troll|harass|bully|cyberbully|intimidate|terrori[sz]e|humilia'
        'te|shame)\\w*\\s+(someone|somebody|people|a person|him|her|them|others|users|my \\w'
        '+|an? (\\w+ )?(website|site|page|forum|group|account|inbox))\\b'
    ),
    (
        '\\b(hundreds|thousands|millions) of (times|fake|bots?|accounts|sign-?ups|comments'
        '|reviews)\\b|\\bfake (reviews?|accounts?|followers|likes|engagement|sign-?ups)\\b'
    ),
]
OUTPUT_RULE: dict[str, Any] = {
    'name': 'harmful_instructions',
    'unless': [
        (
            "\\b(never|do not|don't|must not|should not|shouldn't|cannot|can't|won't|will not|"
            'not able)\\b.{0,30}\\b({{hazards}})\\b'
        ),
    ],
    'patterns': [
        (
            '\\b(mix|combine|add|heat|boil|dissolve|grind|crush|pour|pack|fill|attach|wire|con'
            'nect|ignite|light|detonate|assemble|drill|load|extract|distil+|purify|synthesi[s'
            'z]e|react|stir|cook|make|making|manufactur|produc|prepar|handl|stor(e|ing)|relea'
            's|creat|generat|writ|build|us(e|ing)|obtain|acquire|buy|order|smuggle|hide|conce'
            'al|plant|inject|snort|install|deploy|deliver|spread|compile|run|execute|encrypt|'
            'infect|lace|spike|dose)\\w*\\b.{0,60}\\b({{hazards}})\\b'
        ),
        (
            '\\b({{hazards}})\\b.{0,60}\\b(mix|combine|heat|boil|dissolve|grind|crush|pour|pack|'
            'attach|wire|ignite|detonate|assemble|extract|distil+|purify|synthesi[sz]e|react|'
            'stir|cook|smuggle|conceal|plant|inject|snort|install|deploy|spread|execute|encry'
            'pt|infect|lace|spike)\\w*\\b'
        ),
        (
            '\\b(without (getting caught|being (caught|detected|traced|noticed|seen))|undetect'
            'ed|untraceabl[ey]|avoid (detection|the police|law enforcement|suspicion|getting '
            'caught)|cover (your|their) tracks|dispose of the (body|evidence|weapon)|wipe (yo'
            'ur|the) (fingerprints|prints)|launder(ing)? (the )?money)\\b'
        ),
        (
            '\\b(create|file|submit|write|make|forge|fake|falsify|fabricate|use|print|pass)\\w*'
            '\\b.{0,30}\\b(false|fake|forged|fraudulent|counterfeit|falsified)\\s+(tax returns?|'
            'returns?|documents?|ids?|identit(y|ies)|invoices?|receipts?|claims?|accounts?|re'
            'views?|records?|signatures?|passports?|checks?|cheques?|money|currency|bills|lic'
            'en[cs]es?)\\b'
        ),
        (
            "\\bhack(s|ed|ing)? into\\b|\\bbreak(s|ing)? into (the|their|his|her|someone'?s|a|an"
            ') (\\w+ ){0,3}?(email|account|computer|network|system|phone|house|home|car|buildi'
            "ng|database|server)s?\\b|\\bunauthori[sz]ed access to (the|their|his|her|someone'?"
            's|a|an)\\b'
        ),
        (
            '\\b(crack|guess|brute[- ]force|phish|steal|intercept)\\w*\\s+(the|their|his|her|som'
            "eone'?s|the (target|victim|official)'s)\\s+(\\w+\\s+)?(passwords?|credentials|login"
            's?|pins?|2fa|verification codes?)\\b'
        ),
        (
            '\\b(blackmail|extort|stalk|kidnap|abduct|harass|dox|assault|rob|burgle|defraud|sc'
            'am|poison|stab|strangle)\\w*\\s+(the|that|this|your)\\s+(person|victim|target|offic'
            'ial|employee)\\b|\\b(person|victim|target|people|someone) (you|they) (want|plan|in'
            'tend|are going|would like) to (blackmail|extort|stalk|kidnap|harass|dox|attack|h'
            'urt|harm|kill|scam|defraud|rob|poison|hack|threaten)\\b'
        ),
        (
            '\\b(cut|slit|slash) (your|the|their) (wrists?|veins?|throat)\\b|\\bhang (yourself|t'
            'hemselves|oneself)\\b|\\b(lethal|fatal|deadly) (dose|amount|quantity)\\b|\\b(jump|ju'
            'mping) (off|from) (a|the) (bridge|building|roof|cliff)\\b|\\bstarve (yourself|them'
            'selves)\\b'
        ),
    ],
}
"""Inserted before the ``sensitive_advice`` output rule."""
CLASSIFIER_UNLESS: list[str] = [
    (
        '^(?!.*\\b(pill|medic|drug|tablet|dos(e|age)|supplement|vitamin|alcohol|weed|canna'
        'bis)\\w*)(?=.*\\b(is|are)\\s+(this|these|that|those|the|your|my)\\s+(\\w+\\s+){0,2}?(s'
        'afe|suitable|okay|ok|appropriate|certified|tested|approved|(non-)?toxic|bpa[- ]f'
        'ree|flammable|age[- ]appropriate)\\b)'
    ),
]


def _insert(rules: list[dict[str, Any]], new: list[dict[str, Any]], *, after: str = "",
            before: str = "") -> list[dict[str, Any]]:
    names = [r.get("name") for r in rules]
    new = [r for r in new if r["name"] not in names]
    anchor = names.index(after) + 1 if after in names else names.index(before) if before in names else len(rules)
    return [*rules[:anchor], *new, *rules[anchor:]]


def _harmful(rule: dict[str, Any]) -> dict[str, Any]:
    if rule.get("name") != "harmful" or "patterns" not in rule:
        return rule
    patterns = [HARMFUL_REWORDED.get(p, p) for p in rule["patterns"]]
    return {**rule, "patterns": [*patterns, *(p for p in HARMFUL_ADDED if p not in patterns)]}


def upgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """A policy document of revision 0010 in the shape of this one."""
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict):
        return document
    upgraded = dict(guardrails)
    upgraded["words"] = {**guardrails.get("words", {}), **{k: v for k, v in WORDS.items()
                                                          if k not in guardrails.get("words", {})}}
    upgraded["input"] = _insert([_harmful(r) for r in guardrails.get("input", [])], INPUT_RULES, after="harmful")
    upgraded["output"] = _insert(list(guardrails.get("output", [])), [OUTPUT_RULE], before="sensitive_advice")
    classifier = guardrails.get("classifier")
    if isinstance(classifier, dict):
        unless = list(classifier.get("unless", []))
        upgraded["classifier"] = {**classifier, "unless": [*unless, *(u for u in CLASSIFIER_UNLESS if u not in unless)]}
    return {**document, "guardrails": upgraded}


def downgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """This revision's additions taken out again."""
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict):
        return document
    added = {r["name"] for r in INPUT_RULES}
    back = {new: old for old, new in HARMFUL_REWORDED.items()}
    downgraded = dict(guardrails)
    downgraded["words"] = {k: v for k, v in guardrails.get("words", {}).items() if k not in WORDS}
    downgraded["input"] = [
        {**r, "patterns": [back.get(p, p) for p in r["patterns"] if p not in HARMFUL_ADDED]}
        if r.get("name") == "harmful" and "patterns" in r else r
        for r in guardrails.get("input", []) if r.get("name") not in added]
    downgraded["output"] = [r for r in guardrails.get("output", []) if r.get("name") != OUTPUT_RULE["name"]]
    classifier = guardrails.get("classifier")
    if isinstance(classifier, dict):
        downgraded["classifier"] = {**classifier, "unless": [u for u in classifier.get("unless", [])
                                                             if u not in CLASSIFIER_UNLESS]}
    return {**document, "guardrails": downgraded}


def _rewrite_policies(change: Any) -> None:
    connection = op.get_bind()
    for version, document in connection.execute(sa.select(_versions.c.version, _versions.c.document)).all():
        connection.execute(_versions.update().where(_versions.c.version == version)
                           .values(document=change(dict(document))))


def upgrade() -> None:
    _rewrite_policies(upgraded_policy)


def downgrade() -> None:
    _rewrite_policies(downgraded_policy)
