"""Spanish phrase lexicon for `bot.domain.distress`: data only (same dialect and flags as
`bot.domain.distress_lexicon`, which also holds the context words shared by both languages).

Negation ("no quiero morir", "nunca me haría daño"), jest ("me muero de risa", "no puedo más
con este calor jajaja"), idioms that are not about dying ("me muero por saber", "me muero de
hambre", "el móvil está muerto") and end-of-life wishes ("quiero morir en casa") do not alert.
"""

from __future__ import annotations

from bot.domain.distress_lexicon import Phrase

_PILLS_ES = "(?:pastillas|pildoras|medicinas|medicamentos|morfina|calmantes)"

SPANISH: tuple[Phrase, ...] = (
    Phrase(
        "quiero morir",
        "(?:(?:me |se )?(?:quiero|quiera|quisiera|kiero|quiere|deseo|desearia|necesito)"
        "|tengo ganas de|ganas de) morir(?:me|se)?"
        "(?! (?:de (?:risa|verguenza|ganas|hambre|sueno|frio|calor|amor|pena|aburrimiento"
        "|asco|envidia)|en (?:casa|paz|el hospital|mi cama)|tranquil[ao]|por))",
    ),
    Phrase("quería morir", "(?:me )?(?:queria|keria|quise) morir(?:me)?", past=True),
    Phrase(
        "ojalá estuviera muerto",
        "ojala (?:estuviera|estuviese|estar) muert[oa]|ojala (?:me muriera|me muera|no "
        "despertar|no despertara|no despertase|no haber nacido|no volver a despertar)"
        "|(?:prefiero|preferiria) estar muert[oa]|(?:estaria|estaria) mejor muert[oa]",
    ),
    Phrase(
        "no quiero vivir",
        "(?:no|ya no) (?:quiero|kiero|quiere|tengo ganas de|deseo) (?:vivir|seguir viviendo"
        "|seguir(?=<end>| (?:asi|adelante|aqui|luchando))|estar aqui|estar viv[oa]|despertar"
        "|existir)",
        negatable=False,
    ),
    Phrase(
        "dormir y no despertar",
        "dormir(?:me)? y no (?:despertar|volver a despertar)|no despertar (?:nunca|jamas|mas)",
        negatable=False,
    ),
    Phrase(
        "suicidarme",
        "suicidar(?:me|se|te)?|suicidas?|(?:pienso|pensando|pensar|pense|he pensado|piensa)"
        " en (?:el )?suicidio",
    ),
    Phrase(
        "matarme",
        "matarme|me (?:voy a|quiero|kiero|queria|pienso) matar|matarse|tirarme (?:por|de|desde"
        "|a) (?:la ventana|el balcon|un puente|el puente|las vias|la azotea|un edificio)",
    ),
    Phrase(
        "me tomé todas las pastillas",
        f"(?:me tome|me he tomado|tome|me bebi) (?:todas|muchas|demasiadas) (?:las |mis )?"
        f"{_PILLS_ES}",
    ),
    Phrase(
        "mejor morir",
        "(?:seria|es) mejor (?:morir|morirme|estar muert[oa])|no le importo a nadie"
        "|no puedo con (?:mi vida|la vida|todo esto|esto mas)|quiero desaparecer<end>",
    ),
    Phrase("quitarme la vida", "quitar(?:me|se|te) la vida|quitarme de en medio"),
    Phrase(
        "acabar con todo",
        "(?:acabar|terminar|acabo|termino) con (?:todo|mi vida|esto de una vez|esto para siempre"
        "|mi sufrimiento)",
    ),
    Phrase("desaparecer para siempre", "desaparecer (?:para siempre|del mapa y no volver)"),
    Phrase(
        "no puedo más",
        "(?:no|ya no) puedo mas(?! (?:de (?:felicidad|alegria|emocion|risa|[0-9]+|una|media|dos"
        "|tres|cuatro|cinco)|que))|ya no puedo<end>",
        negatable=False,
        soft=True,
    ),
    Phrase(
        "no aguanto más",
        "(?:no|ya no) (?:aguanto|soporto) (?:mas|esto mas|ni un dia mas)(?! que)"
        "|ya no (?:aguanto|soporto)<end>",
        negatable=False,
        soft=True,
    ),
    Phrase(
        "no vale la pena vivir",
        "no vale la pena (?:vivir|seguir|nada)|(?:la vida|vivir) no vale la pena|nada vale la pena",
        negatable=False,
    ),
    Phrase(
        "no le veo sentido",
        "(?:no|ya no) (?:le )?(?:veo|encuentro|tiene|tengo) (?:ningun )?sentido "
        "(?:a |en )?(?:nada|la vida|vivir|seguir|mi vida|esto)|ya no tiene sentido"
        "|que sentido tiene (?:seguir|vivir|nada|la vida)|para que seguir(?: viviendo"
        "| luchando)?<end>",
        negatable=False,
    ),
    Phrase(
        "no tengo fuerzas para seguir",
        "no tengo (?:razones|motivos|ganas|fuerzas|nada) (?:para|por lo que|de) (?:vivir"
        "|seguir)|nada por (?:lo )?que vivir",
        negatable=False,
    ),
    Phrase(
        "sin esperanza",
        "no (?:me queda|tengo|hay) (?:ninguna |mas )?esperanza|perdido (?:toda )?la esperanza",
        negatable=False,
    ),
    Phrase("me rindo", "me (?:he )?rendido|me rindo(?=<end>| con (?:todo|la vida))", soft=True),
    Phrase("no veo salida", "no (?:veo|hay|encuentro|tengo) (?:ninguna )?salida", negatable=False),
    Phrase(
        "cansada de vivir",
        "(?:cansad[oa]|hart[oa]) de (?:vivir|la vida|estar viv[oa]|existir)",
    ),
    Phrase(
        "nadie me echaría de menos",
        "nadie me (?:echaria|echara) de menos|nadie me extranaria"
        "|nadie (?:lo )?notaria|(?:a )?nadie le importaria si (?:me muriera|muero|me muero"
        "|desapareciera|no estuviera)",
        negatable=False,
    ),
    Phrase(
        "no puedo seguir así",
        "no (?:puedo|se como) seguir(?: adelante| asi| viviendo)|no puedo seguir<end>",
        negatable=False,
        soft=True,
    ),
    Phrase(
        "que todo se acabe",
        "(?:que|quiero que) todo (?:se acabe|termine|acabe|pare|se termine)",
    ),
    Phrase(
        "despedirme",
        "despedirme(?! de (?:mi|la|el|los|las|mis|tu|su|sus))|esto es un adios"
        "|adios a todos|decir(?:les|os|te)? adios|cartas de despedida",
        farewell=True,
    ),
    Phrase(
        "último mensaje",
        "(?:es|sera) (?:mi )?(?:ultimo|ultima) (?:mensaje|publicacion|post)(?! (?:en|de|sobre))"
        "|cuando (?:leais|lean|leas) esto",
    ),
    Phrase("regalando mis cosas", "regalando (?:mis|todas mis) cosas"),
    Phrase(
        "estarían mejor sin mí",
        "mejor sin mi|(?:seria|estarian|estaria) mejor (?:para todos )?si (?:yo )?no "
        "(?:estuviera|existiera|estoy)",
    ),
    Phrase(
        "soy una carga",
        "(?:soy|me siento|siento que soy) (?:(?:solo|solamente|una|un|tan|como|mas que"
        "|nada mas que) ){0,4}(?:carga|estorbo)",
    ),
    Phrase(
        "tengo las pastillas",
        f"(?:tengo|guardo|he estado guardando|guardando|acumulando|acumulo|he guardado) "
        f"(?:las |mis |suficientes )?{_PILLS_ES}(?: (?:preparadas|guardadas|listas|escondidas))?"
        f"(?=<end>| (?:preparadas|guardadas|listas|escondidas|y se))",
    ),
    Phrase(
        "tomarme todas las pastillas",
        f"tomar(?:me)? todas (?:las |mis )?{_PILLS_ES}(?=<end>| (?:de golpe|esta noche|juntas))"
        "|(?:tomarme|tomar) una sobredosis",
    ),
    Phrase(
        "tengo un plan",
        "tengo un plan(?=<end>| y se| para (?:hacerlo|acabar|morir))|se (?:como|cuando) lo voy"
        " a hacer",
    ),
    Phrase(
        "hacerme daño",
        "(?:hacerme|me hago|me hice|hacerse) dano|autolesion(?:o|ar|arme|ando|es)?"
        "|me (?:he )?(?:vuelto a )?cort(?:e|ado|o|ar)(?=<end>| (?:otra vez|de nuevo|los brazos"
        "|las piernas|las munecas))|vuelto a cortarme",
    ),
    Phrase("me autolesionaba", "autolesionaba|me cortaba", past=True),
    Phrase(
        "quiero irme con él",
        "(?:quiero|kiero|necesito) (?:irme con (?:el|ella|ellos|mi)|estar con (?:el|ella|ellos"
        "|mi <w>) (?:otra vez|de nuevo|para siempre))",
    ),
)
