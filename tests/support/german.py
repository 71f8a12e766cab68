# ruff: noqa: E501 - an article keeps each paragraph on one line, as the corpus files do
"""Articles in German (and a French one) for the corpus-language tests, written for them.

Local news in the style of a town paper: dates in the German way ("3. Mai 1923"),
abbreviations ("Dr.", "z. B.", "St."), inflected nouns ("Glocke", "Glocken").
"""

from __future__ import annotations

#: File name -> text: a corpus folder for ``verbatim index --language de``.
GERMAN_ARTICLES = {
    "muehlheim.txt": """\
Die neuen Glocken von St. Marien

Mühlheim am Bach, 12. März 2024. Die Pfarrkirche St. Marien hat wieder ein vollständiges Geläut. Am 3. Mai 1923 wurden die drei neuen Glocken im Beisein von Bürgermeister Dr. Anton Kessler geweiht, nachdem die alten Glocken im Ersten Weltkrieg eingeschmolzen worden waren.

Gegossen wurden sie in der Glockengießerei Otto in Hemelingen. Die größte Glocke wiegt 1.450 Kilogramm und trägt den Namen „Maria“. Die Gemeinde sammelte dafür über zwei Jahre Spenden, z. B. bei Basaren und Konzerten.

Der Kirchturm selbst ist älter: Er wurde zwischen 1862 und 1865 nach Plänen des Baumeisters Friedrich Hartmann errichtet. Seine Höhe beträgt 58 Meter, womit er bis heute das höchste Bauwerk der Stadt ist.

Im Jahr 1987 musste der Glockenstuhl erneuert werden, weil das Eichenholz von Pilzen befallen war. Die Arbeiten kosteten rund 210.000 Mark und dauerten acht Monate.

Heute läuten die Glocken jeden Sonntag um 9.30 Uhr zum Gottesdienst. Touristen können den Turm von April bis Oktober samstags besteigen; der Eintritt kostet drei Euro.
""",
    "hafen.txt": """\
Neuer Fähranleger eröffnet

Nach vier Jahren Bauzeit ist der neue Fähranleger am Südufer des Sees in Betrieb gegangen. Die Landesregierung hatte das Projekt mit 6,8 Millionen Euro gefördert.

Die Fähre „Seestern“ verkehrt nun stündlich zwischen Mühlheim und dem Dorf Altenried. Im Sommer fahren zusätzliche Schiffe, sodass Radfahrer nicht mehr den Umweg über die Bundesstraße nehmen müssen.

Kritik kam von Anwohnern, die mehr Verkehr in den engen Gassen der Altstadt befürchten. Die Stadt will deshalb einen Parkplatz am Ortsrand bauen und einen Pendelbus einrichten.
""",
}

FRENCH_TEXT = (
    "Le nouveau pont de la ville a été inauguré samedi par le maire. Les travaux ont duré "
    "trois ans et ont coûté 12 millions d'euros. Selon la mairie, plus de dix mille voitures "
    "passeront chaque jour sur le pont, qui relie les deux rives de la Loire. Les habitants "
    "du quartier se plaignent du bruit, mais les commerçants sont satisfaits. Le pont porte "
    "le nom d'une résistante née dans la ville en 1921. Une fête populaire a eu lieu sur les "
    "quais avec de la musique et un feu d'artifice."
)
