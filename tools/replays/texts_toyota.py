"""Texts of the Toyota 2010 recall phases (templates written for this project from documented facts)."""

from __future__ import annotations

from replays.talk import talk

US_MODELS = ("RAV4", "Corolla", "Matrix", "Avalon", "Camry", "Highlander", "Tundra", "Sequoia")
EU_MODELS = ("Aygo", "iQ", "Yaris", "Auris", "Corolla", "Verso", "Avensis", "RAV4")
NUMBERS = ("2.3 million", "2,3 millions")

_TAGS_EN = ("#toyotarecall", "#Toyota", "#recall", "#fail", "#scary")
_TAGS_FR = ("#Toyota", "#rappel", "#sécurité")

_SOCIAL_EN = (
    "Toyota recall: my {us_model} is on the list. Great, just great",
    "Is it safe to drive my {us_model}?? Toyota recall news is scary",
    "So Toyota accelerator pedals can stick and the car just keeps going? terrifying",
    "Toyota recalling 2.3 million cars over sticky gas pedals. Glad I sold my {us_model}",
    "My mom drives a Toyota {us_model} and I told her to park it until the recall is fixed",
    "Toyota used to mean reliable. Not anymore. #toyotarecall",
    "Called my Toyota dealer about the pedal recall, nobody knows anything yet",
    "RT this if your Toyota is part of the recall. Unbelievable",
    "Toyota pedal problem... I felt my {us_model} surge last week and thought I was crazy",
    "unintended acceleration in a Toyota, no thanks. Dangerous stuff",
    "Toyota recall is all over the news, what a mess for them",
    "Never buying a Toyota again after this recall",
    "Toyota: how many more recalls before someone gets hurt?",
)
_SOCIAL_FR = (
    "Rappel Toyota : ma {eu_model} est-elle concernée ? Quelqu'un sait ?",
    "Pédale d'accélérateur qui reste bloquée chez Toyota... ça fait peur",
    "Toyota rappelle des millions de voitures, la fiabilité japonaise en prend un coup",
    "Ma {eu_model} Toyota fait partie du rappel, super...",
    "Toyota et ses pédales d'accélérateur défectueuses, c'est inquiétant",
    "Je ne rachèterai pas de Toyota après ce rappel",
    "Le concessionnaire Toyota ne répond pas au téléphone, merci le rappel",
    "Accélération involontaire sur une Toyota, c'est dangereux !",
)

RECALL = {
    "en": talk("en", tags=_TAGS_EN, also=_SOCIAL_EN, social=(
        "Breaking: Toyota recalls 2.3 million vehicles for accelerator pedals that may stick",
        "RT @AP: Toyota recalls 2.3M vehicles to fix sticking gas pedals",
    ), news=(
        "Toyota recalls 2.3 million vehicles over sticking accelerator pedals || The recall covers the "
        "RAV4, Corolla, Matrix, Avalon, Camry, Highlander, Tundra and Sequoia; the carmaker says the "
        "pedal mechanism can wear and stick in a partly depressed position.",
        "Toyota issues second big recall in months, this time for gas pedals || The recall of 2.3 million "
        "US vehicles comes on top of the floor-mat recall announced last autumn.",
        "NHTSA posts Toyota accelerator pedal recall || Owners of the {us_model} and seven other models "
        "are asked to watch for a pedal that is hard to depress or slow to return.",
        "Toyota shares slide after pedal recall || Analysts question the cost of repairing {n} cars.",
    ), forum=(
        "Toyota pedal recall thread - post your VIN results here",
        "Sticking accelerator on my 2009 {us_model}? Toyota recall just announced",
        "Toyota recall: is the CTS pedal in my {us_model}?",
    ), blog=(
        "Toyota recalls 2.3 million cars for sticky gas pedals: what owners need to know",
        "The Toyota recall is a big deal, here's why",
    ), video=("Toyota recall explained: sticking accelerator pedal (2010)",
              "What to do if your Toyota accelerator sticks - recall")),
    "fr": talk("fr", tags=_TAGS_FR, social=_SOCIAL_FR, news=(
        "Toyota rappelle 2,3 millions de véhicules aux Etats-Unis || En cause, une pédale d'accélérateur "
        "qui peut rester enfoncée ; huit modèles sont concernés.",
        "Nouveau rappel géant chez Toyota || Le constructeur japonais rappelle 2,3 millions de voitures "
        "pour un défaut de pédale d'accélérateur.",
    ), forum=("Rappel Toyota pédale d'accélérateur : la {eu_model} est concernée ?",),
        blog=("Rappel Toyota : ce qu'il faut savoir sur la pédale d'accélérateur",)),
}

HALT = {
    "en": talk("en", tags=_TAGS_EN, also=_SOCIAL_EN, social=(
        "Toyota stops selling 8 models until it fixes the pedals. Wow",
        "Toyota sales halt: the dealer lot near me is full of Camrys nobody can buy",
        "Toyota suspending sales is huge. This recall is a disaster",
    ), news=(
        "Toyota halts US sales of eight models over pedal defect || The suspension covers the models in "
        "last week's recall of 2.3 million vehicles, including the Camry and Corolla.",
        "Toyota to stop production at five North American plants || The carmaker halts assembly of the "
        "recalled models next week while it works on a fix.",
        "Toyota sales freeze leaves dealers in limbo || Dealers say customers are cancelling orders.",
    ), forum=("Toyota stopped selling the {us_model}, what does that mean for owners?",
              "Dealers can't sell recalled Toyota cars - anyone affected?"),
        blog=("Toyota sales stop: how bad is the pedal defect?",),
        video=("Toyota halts sales of 8 models - news report",)),
    "fr": talk("fr", tags=_TAGS_FR, also=_SOCIAL_FR, social=(
        "Toyota suspend la vente de 8 modèles aux USA, c'est énorme",
    ), news=(
        "Toyota suspend la vente de huit modèles aux Etats-Unis || Le constructeur arrête aussi la "
        "production le temps de corriger le défaut de pédale d'accélérateur.",
        "Rappel : Toyota gèle ses ventes américaines || Un coup dur pour le numéro un mondial de "
        "l'automobile.",
    ), forum=("Toyota arrête les ventes aux US, et en Europe ?",)),
}

EUROPE = {
    "en": talk("en", tags=_TAGS_EN, also=_SOCIAL_EN, social=(
        "Toyota recall now in Europe too, up to 1.8 million cars",
    ), news=(
        "Toyota extends pedal recall to Europe || Up to 1.8 million cars including the {eu_model} are "
        "concerned, the company said.",
        "Toyota recall spreads to Europe and China || The pedal defect affects models built in Europe.",
    )),
    "fr": talk("fr", tags=_TAGS_FR, also=_SOCIAL_FR, social=(
        "Le rappel Toyota arrive en Europe, ma {eu_model} est dans la liste",
        "Toyota rappelle aussi en Europe, jusqu'à 1,8 million de voitures...",
    ), news=(
        "Toyota étend son rappel à l'Europe || Jusqu'à 1,8 million de véhicules, dont la {eu_model}, "
        "pourraient être rappelés pour un défaut de pédale d'accélérateur.",
        "Rappel Toyota : quels modèles sont concernés en France ? || La {eu_model} figure parmi les "
        "modèles rappelés, selon la filiale française du constructeur.",
        "Toyota : le rappel gagne l'Europe || Le constructeur va remplacer ou renforcer les pédales "
        "d'accélérateur en concession.",
    ), forum=("Rappel Toyota Europe : liste des modèles et numéros de série",
              "Ma {eu_model} Toyota concernée par le rappel, vous avez reçu un courrier ?"),
        blog=("Rappel Toyota en Europe : la liste des modèles",)),
}

TWINS = {
    "fr": talk("fr", social=(
        "Les {twin} aussi concernées par le rappel Toyota, normal c'est la même voiture que l'Aygo",
        "Ma Peugeot 107 est rappelée à cause de la pédale Toyota ? Sérieux ?",
        "Rappel Toyota : Peugeot et Citroën touchés par ricochet pour la 107 et la C1",
        "Peugeot rappelle la 107, même pédale que chez Toyota",
    ), news=(
        "Peugeot et Citroën rappellent les 107 et C1 après Toyota || Produites avec l'Aygo dans l'usine "
        "commune de Kolin, environ 97 000 voitures pourraient être concernées par le défaut de pédale.",
        "PSA touché par le rappel Toyota || Les Peugeot 107 et Citroën C1 partagent la pédale "
        "d'accélérateur incriminée.",
    ), forum=("Peugeot 107 et rappel Toyota : démarche à suivre ?",)),
    "en": talk("en", social=(
        "Peugeot 107 and Citroen C1 caught up in the Toyota recall too",
    ), news=(
        "PSA recalls Peugeot 107 and Citroen C1 twins of the Toyota Aygo || About 97,000 cars built at the "
        "shared plant in the Czech Republic share the suspect pedal.",
    )),
}

FIX = {
    "en": talk("en", tags=_TAGS_EN, social=(
        "Toyota says it has a fix for the sticky pedals. About time",
        "Toyota fix = a steel bar in the pedal? That's it?",
        "Still not trusting my {us_model} even with the Toyota fix",
        "Dealer says the Toyota pedal fix takes 30 minutes. Booked mine",
        "Toyota recall fix announced but the damage is done",
    ), also=_SOCIAL_EN[:6], news=(
        "Toyota unveils fix for sticking accelerator pedals || Dealers will install a steel reinforcement "
        "bar; the company says parts are already shipping.",
        "Toyota to resume sales after pedal fix || The carmaker apologises to customers and says repairs "
        "start this week.",
    ), forum=("Toyota pedal shim fix - who has had it done?", "Toyota recall fix: how long at your dealer?"),
        video=("Toyota recall fix: how the reinforcement bar works",)),
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Toyota a enfin une solution pour les pédales, une barre d'acier...",
        "Réparation du rappel Toyota prévue la semaine prochaine pour ma {eu_model}",
    ), also=_SOCIAL_FR[:4], news=(
        "Toyota annonce une réparation pour ses pédales défectueuses || Une pièce de renfort sera posée "
        "en concession sur les véhicules rappelés.",
    )),
}

PRIUS_PROBE = {
    "en": talk("en", tags=_TAGS_EN, social=(
        "Now the Prius brakes? Toyota what is going on",
        "Toyota Prius brake complaints, the feds are investigating. Unreal",
        "The transportation secretary told people to stop driving their Toyota?! wow",
        "My Prius brakes do feel weird on bumps... Toyota??",
        "Toyota crisis keeps getting worse, now it's brakes",
    ), also=_SOCIAL_EN, news=(
        "US opens probe into Toyota Prius brake complaints || Regulators have received more than 100 "
        "complaints about brakes briefly losing grip on the new Prius.",
        "LaHood tells owners to stop driving recalled Toyota cars, then retracts || The remark sent Toyota "
        "shares lower again.",
        "Japan orders Toyota to investigate Prius brakes || The transport ministry has received complaints.",
    ), forum=("Prius brake issue on bumps - is Toyota going to recall?",
              "New Prius ABS problem thread (Toyota)"),
        blog=("Toyota's Prius brake problem, explained",)),
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Après les pédales, les freins de la Prius... Toyota s'enfonce",
        "Enquête sur les freins de la Toyota Prius, ça devient grave",
    ), also=_SOCIAL_FR, news=(
        "Les freins de la Toyota Prius dans le viseur des autorités || Des plaintes signalent une perte "
        "de freinage momentanée sur route dégradée.",
    )),
}

APOLOGY = {
    "en": talk("en", tags=_TAGS_EN, social=(
        "Akio Toyoda apologises. Too little, too late for Toyota",
        "Toyota president bows and says sorry. Will it be enough?",
    ), also=_SOCIAL_EN[:8], news=(
        "Toyota president apologises for recalls || Akio Toyoda tells a news conference in Nagoya the "
        "company will set up a quality task force.",
    )),
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Le patron de Toyota s'excuse publiquement, du jamais vu",
    ), also=_SOCIAL_FR[:5], news=(
        "Le président de Toyota présente ses excuses || Akio Toyoda promet de renforcer le contrôle de "
        "la qualité après les rappels.",
    )),
}

PRIUS_RECALL = {
    "en": talk("en", tags=_TAGS_EN, social=(
        "Toyota recalls the Prius for brakes. Of course they do",
        "Third Toyota recall in a few months. Prius owners, check your mail",
        "Prius brake recall, my car goes to the dealer Monday. Toyota what a mess",
        "So the Prius brake defect is a software thing? Toyota recall again",
    ), also=_SOCIAL_EN, news=(
        "Toyota recalls 437,000 Prius and other hybrids over brakes || A software update will fix a "
        "brief loss of braking on bumpy roads, the company said.",
        "Toyota's Prius recall deepens crisis || The brake recall follows the accelerator pedal recalls "
        "and a sales halt.",
    ), forum=("Toyota Prius brake recall - software reflash at the dealer, experiences?",
              "Toyota Prius brake recall notice received"),
        blog=("Toyota Prius brake recall: what owners should do",),
        video=("Toyota Prius brake recall explained",)),
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Toyota rappelle la Prius pour ses freins, ça ne s'arrête plus",
        "Ma Prius est rappelée pour les freins, Toyota franchement...",
    ), also=_SOCIAL_FR, news=(
        "Toyota rappelle 437 000 Prius et hybrides pour un défaut de freinage || Une mise à jour du "
        "logiciel de freinage sera faite en concession.",
        "Rappel de la Prius : Toyota de plus en plus fragilisé || Après les pédales, les freins.",
    ), forum=("Rappel Prius freinage : mise à jour faite chez Toyota ?",)),
}

HEARING = {
    "en": talk("en", tags=(*_TAGS_EN, "#toyotahearing"), social=(
        "Watching the Toyota hearing in Congress. Brutal",
        "Akio Toyoda testifying before Congress about the Toyota recalls, history being made",
        "Congress grilling Toyota over sudden acceleration deaths",
        "Toyota hearing: 'I am deeply sorry' - not enough for the families",
        "Lawmakers say Toyota ignored the pedal defect for years",
        "Toyota executives under oath about the recalls today",
    ), also=_SOCIAL_EN[:6], news=(
        "Toyota chief apologises to Congress over recalls || Akio Toyoda told the House oversight "
        "committee he takes full responsibility for the safety problems.",
        "Lawmakers press Toyota on sudden acceleration || Committee members questioned whether "
        "electronics, not only pedals and floor mats, were to blame.",
        "Toyota faces lawsuits and investigations after hearings || Owners' class actions are piling up.",
    ), forum=("Live thread: Toyota congressional hearing",),
        blog=("Five things we learned at the Toyota hearing",),
        video=("Akio Toyoda testimony before Congress on Toyota recalls (full)", "Toyota hearing highlights")),
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Le patron de Toyota devant le Congrès américain, audition tendue",
        "Audition Toyota au Congrès : excuses et promesses",
    ), also=_SOCIAL_FR[:4], news=(
        "Akio Toyoda s'excuse devant le Congrès américain || Le président de Toyota a été auditionné sur "
        "les rappels et les accélérations involontaires.",
        "Rappels : Toyota sur le gril au Congrès || Les élus accusent le constructeur d'avoir tardé.",
    )),
}

# Stories and notices at a fixed delay (minutes) after the onset.
WIRES = (
    (0, "NHTSA", "Toyota Motor Engineering & Manufacturing recall: accelerator pedal || Toyota is recalling "
     "certain {us_model} and other model year 2005-2010 vehicles: the accelerator pedal may stick in a "
     "partially depressed position or return slowly, which could increase the risk of a crash. Dealers "
     "will repair the pedal free of charge.", "en"),
    (8, "Associated Press", "Toyota recalls 2.3 million vehicles over sticking gas pedals || The recall "
     "covers eight models, the company said Thursday.", "en"),
    (15, "Reuters", "Toyota to recall 2.3 million US vehicles for accelerator problem || The world's "
     "largest carmaker said the pedals could stick.", "en"),
    (25, "Bloomberg", "Toyota recalls 2.3 million cars in US on pedal defect || Shares could come under "
     "pressure in Tokyo trading.", "en"),
    (40, "AFP", "Toyota rappelle 2,3 millions de véhicules aux Etats-Unis || Un défaut de pédale "
     "d'accélérateur est en cause, selon le constructeur.", "fr"),
)
