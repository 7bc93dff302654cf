"""Phrase lexicon for `bot.domain.distress`: English phrases and shared context words; data only.

The Spanish phrases are in `bot.domain.distress_lexicon_es`; another language adds a module
like it and a line in `bot.domain.distress._LEXICONS`.

Patterns are written over *normalized* text (see `bot.domain.distress.normalize`): lower
case, accents and apostrophes removed (``can't`` -> ``cant``, ``más`` -> ``mas``), every
other symbol a space, ``.`` between sentences and ``,`` between clauses, and every run of a
repeated letter squeezed to one. Patterns are squeezed the same way when compiled, so they
are written in plain spelling (``better off`` matches ``beter of``). Two placeholders:
``<w>`` is any one word and ``<end>`` is the end of the clause (a few filler words such as
"tbh", "now", "anymore" may come first). No backslashes: the pattern text is squeezed.

``Phrase`` flags: ``negatable`` - a negation just before it ("I don't", "not", "no",
"used to", "nunca") cancels it, so phrases that already hold their negation ("don't want
to live") are not negatable; ``soft`` - a hopelessness idiom people also use in jest ("I
can't take it anymore", "no puedo más"), cancelled by laughter in its own clause;
``past`` - a past-tense form ("wanted to die"), also cancelled by a recovery marker
anywhere in the message ("years ago", "today I'm doing better"); ``farewell`` - a goodbye,
cancelled when the post says the leave is ordinary ("see you next week", "for now",
"in remission").
"""

from __future__ import annotations

from typing import NamedTuple


class Phrase(NamedTuple):
    """One lexicon entry: the label moderators see and the pattern that finds it."""

    label: str
    pattern: str
    negatable: bool = True
    soft: bool = False
    past: bool = False
    farewell: bool = False


_PILLS_EN = "(?:pills|tablets|meds|medication|medicine|painkillers|morphine|oxycodone|opioids)"
_LOVED = (
    "(?:him|her|them|my (?:son|daughter|husband|wife|mum|mom|mother|dad|father|baby"
    "|partner|boy|girl|brother|sister|child))"
)

ENGLISH: tuple[Phrase, ...] = (
    # --- wanting to die / suicide ---
    Phrase(
        "want to die",
        "(?<!where i )(?<!how i )(?<!when i )"
        "(?:want|wanna|wanting|wants|need|needs|would like|wish i could) (?:to )?die"
        "(?! (?:of|from|laughing|at home|in (?:my |a |the )?(?:own )?(?:sleep|peace|hospital"
        "|hospice|bed|ward)|peacefully|with dignity|surrounded|at the hospice|before|when"
        "|alone|first))",
    ),
    Phrase("wanted to die", "(?:wanted|wished) (?:to )?die", past=True),
    Phrase(
        "wish I were dead",
        "(?:wish|hope) (?:i )?(?:was|were|could be|d be|would be) dead",
    ),
    Phrase("rather be dead", "(?:rather|better off|better) (?:be )?dead(?! (?:tired|serious))"),
    Phrase(
        "kill myself",
        "(?:kill|killing|kills|unalive|unaliving) (?:my ?self|him ?self|her ?self"
        "|them ?selves|them ?self)(?! (?:with (?:work|stress|worry|worrying|exercise|training"
        "|overwork)|trying|over (?:the|this|that|work)))|kms|unalive(?: me)?|sewer ?slide",
    ),
    Phrase(
        "tried to kill myself",
        "(?:tried|attempted) (?:to )?(?:kill|unalive) (?:my ?self)|attempted suicide",
        past=True,
    ),
    Phrase(
        "end my life",
        "(?:end|ending|ends|take|taking|takes) (?:my|his|her|their) (?:own )?life"
        "(?! (?:insurance|story|savings|policy|cover|support))",
    ),
    Phrase(
        "end it all",
        "(?:end|ending) (?:it all|everything|things|it)(?! (?:with|between|for (?:the|a)))",
    ),
    Phrase("thought about ending it", "(?:thought|thinking) (?:about |of )ending it", past=True),
    Phrase("suicidal", "suicidal"),
    Phrase(
        "thinking about suicide",
        "(?:thinking|thought|think|thinks|considering|consider|considered|contemplating"
        "|contemplate|talking|talks|talk|planning|plan) (?:about |of )?suicide"
        "|(?<!cells )(?<!cell )commit suicide",
    ),
    Phrase(
        "don't want to live",
        "(?:dont|do not|didnt|doesnt|does not|no longer) (?:want|wanna|wish|wants) (?:to )?"
        "(?:live|be alive|exist|carry on|go on|wake up|keep (?:going|living|fighting)"
        "|be here(?= (?:anymore|any more|without|now)|<end>))",
        negatable=False,
    ),
    Phrase(
        "never wake up",
        "(?:sleep|go to sleep|fall asleep) and (?:never|not) wake up"
        "|(?:hope|wish|pray) (?:i )?(?:dont|do not|never|wont|will not) wake up"
        "|rather not wake up|wish (?:i had|id) never (?:woken|woke) up",
        negatable=False,
    ),
    Phrase(
        "disappear forever",
        "disappear (?:forever|for good|for ever|and never come back)|(?:want|wanna|wish i could"
        "|need) (?:to )?(?:just )?disappear<end>|sleep forever|never been born",
    ),
    Phrase(
        "can't live like this",
        "(?:cant|cannot|can not) (?:live|go on living|keep living) (?:like this|this way"
        "|anymore|any more|with this pain)|(?:i )?(?:just )?(?:cant|cannot) anymore<end>",
        soft=True,
    ),
    Phrase(
        "life is pointless",
        "(?:life|my life|everything|it all|living|existing) (?:is|feels|seems) (?:so |just "
        "|completely |totally )?(?:pointless|meaningless|hopeless)|hate being alive"
        "|had enough of (?:life|living|everything|being alive)|out of this life",
    ),
    Phrase(
        "no future",
        "(?:cant|cannot|dont|do not) see (?:a|any) future|no future (?:for me|anymore|left)"
        "|(?:nobody|no one|noone) cares (?:if|whether) i live or die",
        negatable=False,
    ),
    Phrase(
        "jump off",
        "jump(?:ing)? (?:off|from) (?:a|the|my) (?:bridge|building|roof|balcony|cliff|car park"
        "|multi storey)|(?:step|stepping|jump|jumping|walk|walking) in front of (?:a|the) "
        "(?:train|bus|car|lorry|truck)",
    ),
    # --- self-harm ---
    Phrase(
        "hurt myself",
        "(?:hurt|hurting|harm|harming|cut|cutting|burn|burning|burned|burnt|punish"
        "|punishing) my ?self|self ?harm(?:ing)?|cut again|cutting again",
    ),
    Phrase("self-harmed", "self ?harmed|used to (?:cut|self harm)", past=True),
    # --- hopelessness ---
    Phrase(
        "can't go on",
        "(?:cant|cannot|can not) (?:go on|keep going|carry on)"
        "(?! (?:the|a|an|holiday|holidays|vacation|trips?|that|this (?:trip|drug|diet)|my|to"
        "|about|at|for|until|while|because|unless|as|in|on|with (?:the|my|our) (?:trip"
        "|treatment|course|job|plan)))",
        soft=True,
    ),
    Phrase(
        "don't know how to keep going",
        "(?:dont|do not) (?:know|think|see how) (?:how (?:much longer )?|if |whether )?"
        "(?:i can |to )?(?:keep going|go on|carry on|do this|keep doing this)",
        negatable=False,
    ),
    Phrase(
        "can't do this anymore",
        "(?:cant|cannot|can not) (?:do|take|handle|cope with|bear|stand|face) "
        "(?:this|it|life|any of this|this life)(?: (?:anymore|any more|any longer|no more"
        "|much longer)|<end>)|(?:cant|cannot|can not) cope(?: (?:anymore|any more|any longer)"
        "|<end>)",
        soft=True,
    ),
    Phrase(
        "can't face another day",
        "(?:cant|cannot|can not) face (?:another day|tomorrow|life|living|another morning"
        "|anything anymore|it anymore)",
    ),
    Phrase(
        "no point anymore",
        "no point(?: in| to)? (?:anymore|any more|anything|living|going on|carrying on"
        "|trying|life|of (?:living|anything|life|going on))",
    ),
    Phrase(
        "no point in going on",
        "(?:see|find|is|there is) (?:any|no) point in (?:going on|living|anything|carrying on"
        "|trying|life|it all)",
    ),
    Phrase(
        "don't see the point",
        "(?:dont|do not|cant|cannot|can not|no longer) see (?:the |any )?point"
        "(?=<end>| (?:anymore|any more|of (?:living|going on|life|anything|it all|any of this"
        "|carrying on|trying|being alive|me)|in (?:living|going on|life|anything|trying)))",
        negatable=False,
    ),
    Phrase(
        "what's the point",
        "what(?:s| is)?(?: even)?(?: is)? the point"
        "(?= (?:anymore|any more|of (?:living|going on|life|anything|it all|any of this"
        "|carrying on|trying|being alive|me|getting up)|in (?:living|going on|life|anything"
        "|trying))| even(?: anymore)?<end>|<end>)",
    ),
    Phrase("why bother", "why bother (?:anymore|any more|living|trying|with anything|with life)"),
    Phrase(
        "no hope left",
        "no hope (?:left|anymore|any more)|(?:feel|feeling|im|i am|so|completely|totally) "
        "hopeless|lost all hope|given up (?:all )?hope",
    ),
    Phrase(
        "nothing left to live for",
        "nothing (?:left )?to live for|no (?:reason|reasons) (?:left )?to (?:live|keep going"
        "|keep living|go on|carry on|be here|stay|be alive)",
    ),
    Phrase(
        "tired of living",
        "(?:tired|sick|exhausted|done) (?:of|with) (?:living(?! (?:out|in|on|off|with|at"
        "|from|through))|being alive|life|existing|it all)",
    ),
    Phrase(
        "done fighting",
        "done (?:fighting|trying|living)<end>|(?:im|i am) (?:just |so |really |completely "
        "|totally )?done<end>",
        soft=True,
    ),
    Phrase(
        "given up",
        "(?:give|giving|given|gave) up on (?:life|living|everything|myself|me)"
        "|(?:i|ive|i have|i ve) (?:just )?(?:give|given) up<end>",
        soft=True,
    ),
    Phrase(
        "want it all to end",
        "(?:want|wish|need|just want) (?:it all|everything|this all|all of it|all of this"
        "|my life|life) to (?:end|stop|be over)",
    ),
    Phrase(
        "no way out",
        "(?:no|any) way out(?! of (?:the|this) (?:car park|hospital|building|parking))"
        "|(?:cant|cannot|can not|dont) see (?:a|any) way out",
    ),
    Phrase(
        "nobody would miss me",
        "(?:nobody|no one|noone|no body) (?:would|will|wouldnt) (?:even )?(?:miss me|care"
        "|notice)(?! about)",
        negatable=False,
    ),
    Phrase(
        "not worth living",
        "(?:not|isnt|is not|arent|no longer) worth living|life (?:isnt|is not|not) worth it",
        negatable=False,
    ),
    # --- burden ---
    Phrase(
        "better off without me",
        "(?:better|easier|happier) (?:off )?(?:for (?:everyone|everybody|all|them|him|her) )?"
        "(?:without (?:me|him|her|them)(?! (?:there|at|in))|if i (?:was|were|wasnt|werent"
        "|was not|were not|didnt exist)(?: not)?(?: (?:here|around|gone|dead|alive|exist))?"
        "|if im gone)",
    ),
    Phrase(
        "I'm a burden",
        "(?:im|i am|i feel|feel like|i m) (?:(?:just|such|only|nothing but|so|like|becoming"
        "|turning into|a real|a huge|a total|a) ){0,4}burden",
    ),
    # --- farewell ---
    Phrase(
        "this is goodbye",
        "this is (?:goodbye|my goodbye|farewell|the end)<end>",
        farewell=True,
    ),
    Phrase(
        "last post",
        "(?:my |this is |be |will be )(?:last|final) (?:post|message|words)"
        "(?! (?:on|of|for|from|before|until|about|in (?:the|this) (?:old|other)))",
        farewell=True,
    ),
    Phrase(
        "saying goodbye",
        "(?:saying|say|said|to say|wanted to say|want to say) (?:thank you and )?goodbye"
        "(?=<end>| (?:and|to (?:everyone|everybody|you all|all of you|you|this world"
        "|the world|life|all)|everyone|everybody|all|friends|for good|before i go|properly))"
        "|(?:thank you|thanks)(?: all| everyone| for everything)?(?: and)? goodbye"
        "|goodbye (?:everyone|everybody|all|friends|world|all of you|cruel world)",
        farewell=True,
    ),
    Phrase("farewell", "farewell(?= (?:friends|everyone|all|world)|<end>)", farewell=True),
    Phrase(
        "by the time you read this",
        "by the time (?:you|anyone|someone|u|somebody) (?:read|reads|see|sees|find|finds) this",
    ),
    Phrase(
        "won't be around",
        "(?:wont|will not|im not going to) be (?:around|here|posting|writing) (?:much longer"
        "|anymore|any more|again|tomorrow|for much longer)(?! (?:until|till|til|for a))",
    ),
    Phrase(
        "goodbye letters", "goodbye (?:letters?|notes?)|(?:suicide|farewell) (?:notes?|letters?)"
    ),
    Phrase(
        "giving away my things",
        "(?:giving|given|gave|give) away (?:my|all my) (?:things|stuff|belongings|possessions)",
    ),
    # --- plans and means ---
    Phrase(
        "saving up pills",
        f"(?:saving|saved|stockpiling|stockpiled|hoarding|hoarded|collecting|collected) (?:up )?"
        f"(?:my |all my |enough )?{_PILLS_EN}",
    ),
    Phrase(
        "take all my pills",
        f"(?:take|taking|swallow|swallowing) (?:all|every one of|the whole box of) "
        f"(?:my |of my |the )?{_PILLS_EN}(?=<end>| (?:at once|tonight|together|now|and (?:go"
        f"|just|never|be done)|in one go))",
    ),
    Phrase(
        "have the pills ready",
        f"(?:got|have|ive got|i have) (?:the|my|enough) (?:{_PILLS_EN}|rope)"
        f" (?:ready|saved|to do it|stashed|hidden|lined up)",
    ),
    Phrase(
        "overdose",
        "(?:take|taking|took) an overdose|(?:took|taken|swallowed|have taken|ive taken) (?:all|too"
        " many|loads|a lot|the whole box|a whole box|a bunch)(?: of)? (?:my |the )?"
        f"{_PILLS_EN}|"
        "(?:to|gonna|going to|wanna) overdose"
        "(?=<end>| (?:on|tonight))|(?:to|gonna|going to|wanna) od"
        "(?=<end>| (?:on|tonight))|overdosing(?! (?:risk|is))",
    ),
    Phrase(
        "I have a plan",
        "(?:i have|ive got|ive made|i made|ive|i got|i ve) a plan(?=<end>| (?:to (?:end|die|kill"
        "|do it)|for (?:how|when|it)|and i know))|(?:how|when) (?:im going to|i will|i am going"
        " to|to) do it",
    ),
    Phrase("bought a rope", "(?:bought|buy|buying|got|have) a rope"),
    Phrase(
        "at the bridge",
        "(?:standing|stood|sitting|sat|stand) (?:on|at) the (?:bridge|edge|ledge|roof|cliffs?"
        "|tracks|platform edge)|(?:on|at) the (?:bridge|ledge|edge|cliff) (?:right )?now",
    ),
    Phrase(
        "looking at the knives",
        "(?:looking|staring|stare|look) at (?:the|my) (?:knives|knife|blades?|razors?|rope)",
    ),
    Phrase(
        "how many pills it would take",
        f"how many (?:of my )?{_PILLS_EN}(?: it)? (?:would take|i need|i would need|would do it)",
    ),
    # --- loss: wanting to follow someone who died ---
    Phrase(
        "want to join him",
        f"(?:want|wanna|wish i could|need|long) to (?:join {_LOVED}|be with {_LOVED} (?:again"
        f"|forever|in heaven|wherever))",
    ),
)

# Sentence-level context: a match in a sentence holding one of these is about fiction, media,
# training or a leaflet (EN and ES share the list: a Spanish post is read with both lexicons).
MEDIA_OR_HELPER = (
    "film|films|movie|movies|book|novel|character|characters|protagonist|narrator|episode"
    "|series|documentary|song|lyrics|the play|game|villain|chapter|poem|netflix"
    "|leaflet|pamphlet|poster|warning signs|signs to look|signs (?:of|include)|training"
    "|workshop|prevention|article|guidance|research|study|statistics|people who"
    "|if someone|when someone|if (?:youre|you are|you feel|you re|anyone is|anyone feels) "
    "(?:feeling|having|thinking|suicidal)|side effects?|may cause|can cause"
    "|if a (?:friend|member|person|loved one)|when a member"
    "|someone who (?:says|tells|posts)|how (?:do|should|can) (?:i|you|we) (?:respond|help"
    "|answer|reply)|what (?:should|do|can) (?:you|i|we) say|asking (?:as|for) (?:a )?(?:new )?"
    "(?:moderator|mod|volunteer|training)"
    "|pelicula|peliculas|serie|libro|novela|personaje|protagonista|cancion|episodio|capitulo"
    "|documental|folleto|senales de (?:alarma|alerta)|formacion|taller|prevencion|articulo"
    "|si alguien|alguien que dice|como (?:respondo|ayudo|le respondo|contesto|respondes)"
    "|que se le dice|moderadora nueva|moderador nuevo|voluntarios"
)

# Sentence-level (message-level for `past` phrases): the post tells a story of recovery.
RECOVERY = (
    "years? ago|months ago|back (?:when|then|in)|there was a time|at my (?:worst|lowest)"
    "|when i was (?:first|younger|a teen|a teenager|a kid|a child|in (?:my|school|uni))"
    "|as a (?:teen|teenager|kid|child|student)|in (?:19|20)[0-9][0-9]|in recovery"
    "|recovery is possible|glad (?:i stayed|im still here|i didnt|to be alive)"
    "|it (?:does )?gets? better|doing (?:much |so |a lot )?better|now im (?:doing )?(?:better"
    "|well|ok|okay|fine|good|in remission)|today im|years clean|clean now|scars are"
    "|i survived|hace <w> (?:anos|meses)|antes me|llevo (?:<w> )?anos sin|(?:hoy|ahora) estoy"
    " (?:bien|mejor)|en recuperacion"
)

# Message-level: a goodbye that says it is an ordinary leave (farewell phrases only).
ORDINARY_LEAVE = (
    "see you|see yall|catch you|talk (?:to you )?(?:soon|tomorrow|later)|back (?:soon|tomorrow"
    "|next|in a|on)|for now|for the night|for tonight|for today|night all|goodnight|good night"
    "|in remission|all clear|new account|new server|moving to|hasta pronto|hasta manana"
    "|hasta luego|nos vemos|por hoy|buenas noches"
)

# Laughter and jest markers (the laughing emoji are turned into "lol" by normalization).
HUMOUR = (
    "lol|lmao|lmfao|rofl|(?:ha){2,}|(?:he){2,}|(?:ja){2,}|(?:je){2,}|jsjs|xd|jk"
    "|just kidding|joking|bromeando|es broma"
)

# A negation that governs a phrase when only these words stand between them.
NEGATORS = (
    "not|never|dont|doesnt|didnt|wont|wouldnt|isnt|arent|wasnt|no|nor|nobody|noone|no one"
    "|used to|hardly|without|nunca|jamas|ni|tampoco"
)
NEGATION_FILLERS = (
    "i|im|ive|id|ill|am|is|are|was|be|been|being|really|even|ever|actually|truly|honestly"
    "|just|want|wanna|wanted|to|going|gonna|feel|feeling|think|thinking|thought|plan|plans"
    "|planning|intend|intending|have|had|any|a|that|like|about|saying|say|said|mean|meant"
    "|would|will|could|do|did|currently|at|all|the|of|it|so|you|me|he|she|they|we"
    "|te|se|lo|la|estoy|esta|es|que|quiero|quiera|voy|vaya|va|pienso|pensando|en|tengo"
    "|ganas|de|planes|para|he|pensado|haria|nada|mi|muy|ya"
)
# "This wifi makes me want to die lol": a trivial cause plus laughter is hyperbole.
TRIVIAL_CAUSE = "(?:makes|made|making|make|gonna make|will make|hace|hacen) me"
# Filler words allowed between a phrase and the end of its clause.
END_FILLERS = (
    "tbh|honestly|rn|now|really|anymore|any more|lol|tonight|today|already|too|either|ok"
    "|okay|i think|i mean|right now|de verdad|ya|en serio|hoy"
)
