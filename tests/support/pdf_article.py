"""A made-up river study, long enough for four two-column pages of a test PDF.

Each paragraph states facts found nowhere else, so a question about one of them is answered
from one place. The ``~|`` and ``-|`` marks break lines after a hyphenation hyphen and after a
real hyphen (see ``tests.support.pdfs``).
"""

from __future__ import annotations

HEADING = "Restoring the Vellmar River"

PARAGRAPHS = (
    "The Vellmar River runs for 212 kilometres from the Harz foothills to the tidal marshes "
    "near Ostdeich. For most of the twentieth century it was a straightened canal lined with "
    "concrete, and by 1985 almost no salmon swam upstream past the weir at Kellen.",
    "The restoration programme began in 2009 under the direction of the hydrologist Marta "
    "Lindqvist, who argued that the river needed room to flood. A well-|known survey by her "
    "team counted forty-one barriers between the sea and the spawning grounds.",
    "Removing the barriers was the first task. Engineers demolished the Kellen weir in the "
    "spring of 2011 and replaced eleven smaller dams with fish passes, an exam~|ple that other "
    "river authorities in the region soon followed.",
    "Funding came from three sources. The regional government paid two-thirds of the cost, "
    "the European Union contributed a grant of 38 million euros, and a foundation set up by "
    "local anglers raised the rest through small donations over eight years.",
    "The floodplain at Hessing was the most ambitious site. There the dykes were moved back "
    "by up to 600 metres, giving the river a cost-effective way to spread out during storms "
    "instead of breaking through the towns downstream.",
    "Critics at first doubted that the plan would work. Farmers near Hessing feared losing "
    "their fields, and the chamber of agriculture demanded compensation of 4,000 euros per "
    "hectare before it would support the long-|term plan.",
    "An agreement was reached in 2013. The farmers kept grazing rights on the new meadows, "
    "and the water board bought 310 hectares outright at prices set by an independent "
    "valuer, which ended two years of public protests.",
    "The effects on wildlife were measured every summer. Hydro~|logists from the University "
    "of Brenndorf sampled insects, fish and sediment at twenty stations, using a method "
    "that counts larvae in a square metre of gravel.",
    "By 2018 the salmon had returned. Volunteers counted 1,460 adult salmon passing the old "
    "Kellen site that autumn, the highest number since records began in 1951, and otters "
    "were seen again in the upper valley.",
    "Water quality improved more slowly than the fish numbers. Nitrate from the fields "
    "remained high until the cost-|effective buffer strips of reeds and willows, planted "
    "along 90 kilometres of bank, had grown for several seasons.",
    "Floods tested the new river in January 2021. After nine days of rain the water rose to "
    "its highest level in forty years, yet the towns of Ostdeich and Marling stayed dry "
    "because the Hessing floodplain held back eleven million cubic metres.",
    "The costs of the whole programme reached 164 million euros by 2022. An audit found that "
    "avoided flood damage alone had already repaid more than half of that sum, a result the "
    "regional parliament cited when it extended the work to two tributaries.",
    "Not every measure succeeded. The artificial gravel banks laid below Marling washed away "
    "twice, and the sed~|iment traps built in 2012 filled up within three years and had to be "
    "removed at a cost of 2.1 million euros.",
    "The next phase will reconnect the oxbow lakes near Tarnow. Lindqvist, now retired, said "
    "the lesson of the Vellmar was patience: a river repairs itself if people stop fighting "
    "it, but it does so on its own timetable, not on that of the planners.",
)

#: Questions, with words only the answer holds, and the paragraph each is answered from.
QUESTIONS = (
    ("When was the Kellen weir demolished?", "demolished the Kellen weir"),
    ("How many salmon were counted in 2018?", "1,460 adult salmon"),
    ("How much water did the Hessing floodplain hold back in 2021?", "eleven million cubic"),
    ("Who directed the restoration programme?", "Marta"),
    ("How much did the European Union contribute?", "38 million euros"),
    ("How many hectares did the water board buy?", "310 hectares"),
    ("What did the whole programme cost?", "164 million euros"),
    ("What happened to the sediment traps?", "filled up within three years"),
    ("Which lakes will the next phase reconnect?", "oxbow lakes near Tarnow"),
)
