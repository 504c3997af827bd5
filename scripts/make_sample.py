#!/usr/bin/env python3
"""Build the bundled demo sample: a Common Crawl-style `web.warc.gz` and a `code/` tree.

Everything here is written for this project (no text taken from the web) and generated
deterministically: the same script gives byte-identical files on every run. Record ids are
uuid5 of the record type and URL, WARC dates are fixed, every record is its own gzip member
(as in Common Crawl) written with a zero mtime, and all choices come from one seeded
`random.Random`.

    .venv/bin/python scripts/make_sample.py [--out manifests/sample]

The WARC holds a warcinfo record, request/response/metadata records for article pages in
English, German, French, Spanish, Chinese, Italian and Portuguese, revisit records,
non-HTML responses, a 404 and a 301, and planted cases that each filter of the pipeline
should reject (see manifests/sample/README.md). `build_plan()` returns the pages with the
case each one plants; tests/test_sample.py uses it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import shutil
import struct
import sys
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

SEED = 20240310
CRAWL_START = datetime(2024, 3, 10, 8, 0, 0, tzinfo=UTC)
WARC_NAME = "web.warc.gz"
USER_AGENT = "corpus-curator-sample/1.0 (+https://crawler.example/about)"

# ----------------------------------------------------------------------------------------
# Sentence pools: original text, per language and topic.
# ----------------------------------------------------------------------------------------

EN = {
    "gardening": [
        "Broad beans sown in late autumn usually flower a fortnight earlier than those sown in spring.",
        "A cold frame made from old window panes is enough to harden off seedlings before they go into open ground.",
        "Most allotment holders learn the hard way that courgettes produce far more than one household can eat.",
        "Compost heaps work best when green cuttings and brown material such as straw or cardboard are layered in roughly equal amounts.",
        "The soil on the lower terraces stays wet until May, so the potatoes there are always planted last.",
        "Slugs are easier to manage with a torch and a bucket after dark than with any pellet sold at the garden centre.",
        "We keep a simple notebook with sowing dates, varieties and the weather, and it has become the most useful tool in the shed.",
        "Rhubarb needs very little attention once it is established, although the crowns benefit from a thick mulch of manure every winter.",
        "Tomatoes grown outdoors in a cool summer rarely ripen fully, which is why many growers keep a recipe for green tomato chutney.",
        "A single row of marigolds along the edge of the bed attracts hoverflies, whose larvae eat a surprising number of aphids.",
        "Raised beds warm up faster in spring and are kinder to the back, but they dry out quickly during a hot spell.",
        "Leeks are transplanted into deep holes made with a dibber and then simply watered in, without filling the holes with soil.",
        "The water butts on the shed roof collect enough rain in a wet month to cover the needs of the whole plot.",
        "Crop rotation on a small plot can be as simple as moving the beans, the brassicas and the roots one bed along each year.",
        "Netting over the cabbages keeps the pigeons away, and a finer mesh also stops the white butterflies from laying their eggs.",
        "Garlic planted before the shortest day forms larger bulbs, because it needs a period of cold to split into cloves.",
        "Our neighbour on plot twelve grows dahlias for the village show and guards his tubers through the winter in boxes of dry sand.",
        "Seed saving starts with open-pollinated varieties, since hybrids do not come true from their own seed.",
        "A thin layer of grass clippings between the rows keeps the moisture in and the weeds down during the summer.",
        "Strawberry plants lose vigour after three or four years, so it pays to root a few runners every summer to replace them.",
        "The committee agreed that every new tenant will receive a bag of seed potatoes and a copy of the site rules.",
        "Beetroot seeds are really clusters of several seeds, which is why the seedlings always need thinning.",
        "Frost pockets form at the bottom of slopes, where cold air collects on clear nights in spring.",
        "Sweet peas climb happily up a wigwam of hazel poles and flower for longer when the pods are picked off regularly.",
        "Digging in a green manure such as clover or phacelia adds organic matter and protects bare soil over the winter.",
        "Parsnips are slow to germinate, so some growers sow a few radish seeds in the same drill to mark the row.",
        "A well-placed pond, even a small one sunk into the ground, brings frogs and toads that feed on slugs.",
        "Apple trees on dwarfing rootstock can be grown as cordons against a fence and still give a worthwhile crop.",
        "By late September the beds are cleared, the last squash are curing in the sun, and the planning for next year begins.",
        "Asking the older plot holders for advice is free, and most of them are delighted to share what their own parents taught them.",
    ],
    "rail": [
        "The night train leaves the capital just before ten and reaches the coast as the first fishing boats return to the harbour.",
        "Booking a sleeper compartment months in advance is the only way to be sure of a lower berth in the summer season.",
        "Regional trains are slower than the express services, but they stop in small towns that most travellers never see.",
        "A paper timetable still has its uses on branch lines where the mobile signal disappears between stations.",
        "The viaduct was finished in the eighteen-seventies and still carries six passenger trains a day over the river valley.",
        "Changing trains at the border used to take an hour, because the two networks were built to different track gauges.",
        "Many stations on the mountain line have a small cafe where the staff know the regular passengers by name.",
        "Rail passes make sense for long journeys across several countries, yet they rarely pay off for a short city break.",
        "The dining car serves a simple menu of soup, bread and a hot main course, and the coffee is better than its reputation.",
        "Heavy luggage is a burden on trains with steep steps, so experienced travellers pack one small bag and a day pack.",
        "The restored steam locomotive runs on summer weekends and is maintained entirely by volunteers.",
        "Seat reservations are compulsory on some international routes, even when the traveller already holds a valid pass.",
        "The coastal route hugs the cliffs for almost forty kilometres, and the best views are on the left side of the carriage.",
        "Delays on single-track sections spread quickly, since trains in both directions have to wait for each other at passing loops.",
        "An old signal box beside the platform has been turned into a small museum about the history of the line.",
        "Travelling by rail with a bicycle requires some planning, because the number of bike spaces on each train is limited.",
        "The sleeper attendant brings tea in the morning and warns passengers about thirty minutes before their stop.",
        "Station clocks were once set by telegraph so that every town along the line kept the same railway time.",
        "Walking from the terminus to the old town takes about twenty minutes along a quiet street lined with plane trees.",
        "Some of the smallest halts are request stops, where the driver only stops if a passenger signals clearly to the train.",
        "The line was closed in the nineteen-sixties and reopened forty years later after a long campaign by local residents.",
        "A window seat facing forward is worth asking for, because the scenery on this stretch changes with every curve.",
        "Tickets bought at the station are often cheaper than expected when travellers ask for the off-peak fare.",
        "The engineers who built the tunnel worked from both ends and met in the middle with an error of only a few centimetres.",
        "Overnight trains save the cost of a hotel room and arrive in the city centre rather than at a distant airport.",
        "The conductor checks tickets shortly after departure and is usually happy to answer questions about connections.",
        "Freight trains share the same tracks at night, which is why maintenance work is often scheduled for Sunday mornings.",
        "It is worth carrying some food and water on remote lines, since the buffet trolley does not run on every service.",
        "From the upper deck of the double-decker train the view over the vineyards is wide and uninterrupted.",
        "A slow journey by train turns the travel itself into part of the holiday rather than a gap between two places.",
    ],
    "cooking": [
        "A good stock begins with cold water, a few roasted bones and vegetables that are allowed to simmer gently for hours.",
        "Onions need at least fifteen minutes over a low flame before they turn soft, sweet and golden.",
        "Bread dough that rises slowly in the refrigerator overnight develops a deeper flavour than a quick loaf.",
        "Salt the water for pasta generously, because it is the only chance to season the pasta itself.",
        "Dried beans cook more evenly when they have been soaked for a whole night and the soaking water is thrown away.",
        "A cast iron pan that is heated slowly and oiled after each use will last for several generations.",
        "Fresh herbs such as basil and parsley are best added at the end, while woody herbs like rosemary can cook for a long time.",
        "The secret of a crisp roast potato is to parboil it, shake it in the pan to rough up the edges and roast it in hot fat.",
        "Lentil soup is cheap, filling and easy to vary with cumin, smoked paprika or a squeeze of lemon just before serving.",
        "Letting meat rest for ten minutes after roasting allows the juices to settle back into the fibres.",
        "Pastry stays tender when the butter is kept cold and the dough is handled as little as possible.",
        "A sharp knife is safer than a blunt one, because it cuts cleanly instead of slipping off the surface of the food.",
        "Our grandmother measured flour with a teacup and never once wrote down the recipe for her apple cake.",
        "Rice should be rinsed until the water runs almost clear, which removes the loose starch that makes it sticky.",
        "Tasting as you cook is the most reliable way to get the seasoning right, far better than any precise measurement.",
        "A spoonful of the starchy pasta water helps a sauce cling to the noodles and gives it a glossy finish.",
        "Vegetables roasted at a high temperature caramelise at the edges and taste sweeter than boiled ones.",
        "Leftover rice makes excellent fried rice, as long as it has been cooled quickly and kept in the refrigerator.",
        "Jam sets when it reaches the right temperature, which can be checked by dropping a little onto a cold saucer.",
        "The market stall at the corner sells eggs from a farm ten kilometres away, and the yolks are a deep orange.",
        "Toasting whole spices in a dry pan for a minute releases their oils and fills the kitchen with a warm smell.",
        "Soup often tastes better on the second day, once the flavours have had time to blend overnight.",
        "A simple vinaigrette needs three parts oil to one part vinegar, a little mustard and a pinch of salt.",
        "Baking powder loses its strength over time, so an old tin is a common reason for flat cakes.",
        "Cooking for friends does not have to be complicated, and a large pot of stew leaves the host free to enjoy the evening.",
        "Garlic burns quickly and turns bitter, so it goes into the pan after the onions have already softened.",
        "Fish is cooked when the flesh turns opaque and flakes easily when pressed with a fork.",
        "Homemade yoghurt needs only warm milk, a spoonful of live yoghurt and a quiet place to set overnight.",
        "Writing down what worked and what did not turns every meal into a lesson for the next one.",
        "A bowl of fresh fruit and a plate of cheese is a perfectly good dessert after a rich main course.",
    ],
    "history": [
        "The market square was paved in the sixteenth century, and the stones in front of the town hall are still the original ones.",
        "Parish records show that the mill on the river changed hands nine times between 1650 and 1800.",
        "The old coaching inn was the first building in the town to have gas lighting, installed in the winter of 1843.",
        "A fire in the tannery district destroyed over forty houses, which led to a new rule that roofs must be covered with tiles.",
        "Children from the outlying farms walked up to five kilometres each way to reach the village school.",
        "The railway arrived in 1861 and within twenty years the population of the town had almost doubled.",
        "Many of the street names recall trades that once filled them, such as Ropewalk Lane and Tanners Row.",
        "The local history society meets on the first Tuesday of each month in the reading room above the library.",
        "During the great flood of 1894 the water in the high street reached the height of the shop windows.",
        "The chapel on the hill was built by quarry workers who gave their Sunday afternoons to the work for six years.",
        "Old photographs show that the bridge once had a toll house, which was pulled down when the toll was abolished.",
        "Letters kept in the county archive describe the hard winter of 1740, when the river froze solid for seven weeks.",
        "The weekly cattle market moved to the edge of town after complaints about the noise and the smell in the centre.",
        "A wealthy wool merchant left money in his will to build the almshouses that still stand beside the church.",
        "Researchers compared tax lists from different centuries to trace how the size of the farms changed over time.",
        "The town museum holds a collection of clay pipes found during the excavation of the old brewery yard.",
        "Until the canal was built, goods from the coast arrived by packhorse along a narrow track over the moors.",
        "Oral history recordings made in the nineteen-seventies preserve the voices of people born before 1900.",
        "The grammar school was founded in 1552 and educated the sons of local tradesmen for almost four centuries.",
        "Several houses in the lower town still have the iron rings to which barges were once tied.",
        "Maps drawn for the enclosure of the common fields show boundaries that can still be followed as hedgerows today.",
        "The clock on the church tower was paid for by a public collection after the old one stopped in a storm.",
        "A volunteer team has spent three years transcribing the baptism and burial registers of the parish.",
        "The first public library opened in a single room with four hundred books donated by local families.",
        "Traces of a medieval road were discovered when the car park behind the post office was dug up for new drains.",
        "The cinema that opened in 1932 could seat six hundred people and closed after a final screening in 1985.",
        "Family names that appear in the earliest records can still be found on the doors of the same streets.",
        "The cholera outbreak of 1849 persuaded the town council to build its first proper water supply.",
        "Walking tours organised by the society follow the line of the old town wall, of which only two gates survive.",
        "Every house has a story, and the records in the archive are open to anyone willing to spend an afternoon reading them.",
    ],
    "astronomy": [
        "On a clear night away from city lights the band of the Milky Way is easy to see without any optical aid.",
        "A pair of ordinary binoculars reveals the four largest moons of Jupiter as tiny points of light in a line.",
        "The best time to observe the Moon is not at full moon but near the first quarter, when shadows show the craters in relief.",
        "Eyes need about twenty minutes in darkness before they adapt well enough to see faint galaxies.",
        "A red torch preserves night vision, which is why astronomers cover their lamps with red film.",
        "The Perseid meteor shower peaks in the middle of August and can produce dozens of meteors per hour before dawn.",
        "Saturn's rings are visible in a small telescope at a magnification of around fifty times.",
        "The club keeps a logbook in which members record the date, the sky conditions and every object they observed.",
        "Light pollution from street lamps and advertising hides most of the stars that our grandparents could see.",
        "The Andromeda galaxy is the most distant object that most people can see with the naked eye.",
        "Venus is often mistaken for an aircraft because it shines so brightly low in the evening sky.",
        "A simple star chart and a little patience are enough to learn the main constellations in a single season.",
        "Telescopes need time to cool down to the outside temperature, otherwise the image wobbles in the warm air.",
        "A total solar eclipse lasts only a few minutes at any one place, yet people travel across the world to see one.",
        "Sunspots must only ever be observed with a proper solar filter, because direct sunlight through a lens can blind instantly.",
        "The Orion Nebula appears as a faint grey cloud in binoculars and shows more detail in a larger telescope.",
        "Keeping a sketchbook at the eyepiece trains the eye to notice fine detail that is easy to miss at first glance.",
        "Comets are unpredictable, and a bright one can appear with only a few months of warning.",
        "The observatory on the hill opens to the public on Friday evenings when the weather allows.",
        "Star trails in a long exposure photograph show how the sky turns around the celestial pole during the night.",
        "Mars comes close to the Earth roughly every two years, when it appears as a bright orange point in the sky.",
        "A dew shield at the front of the telescope stops moisture from settling on the lens during long sessions.",
        "The Pleiades form a small tight group of blue stars that has been noticed and named by many cultures.",
        "Winter nights are long and dark, but they also bring the steadiest air and the coldest fingers.",
        "Variable stars change in brightness over days or weeks, and amateurs contribute many useful observations of them.",
        "The International Space Station crosses the sky in a few minutes and is brighter than any star.",
        "Learning to star hop from one bright star to the next is the most reliable way to find faint objects.",
        "A cheap planisphere turns to show which stars are above the horizon at any hour of any night.",
        "The clouds often clear just as the observers pack their equipment away, which everyone in the club has experienced.",
        "Sharing a view through the eyepiece with a child who has never seen the rings of Saturn is a memorable moment.",
    ],
    "software": [
        "A small test suite that runs in a few seconds is more useful than a large one that nobody runs before a commit.",
        "Reading the error message carefully, all of it, solves a surprising share of problems before any search is needed.",
        "Version control is not only a backup, it is also a record of why each change was made.",
        "A function that does one thing and has a clear name rarely needs a long comment to explain it.",
        "Logging the inputs of a failing request makes it possible to reproduce the problem on a developer machine.",
        "Premature optimisation wastes time, but measuring performance early shows where the real costs are.",
        "Configuration that lives in one file with sensible defaults is easier to review than settings scattered across the code.",
        "The team agreed that every pull request needs at least one review and a short description of what it changes.",
        "Dependencies should be pinned in release builds so that the same source always produces the same program.",
        "Writing the documentation first often reveals that an interface is more complicated than it needs to be.",
        "An index on the right column turned a query that took minutes into one that finishes in a few milliseconds.",
        "Timeouts belong on every network call, because a remote service that hangs will otherwise hang the caller as well.",
        "Small commits with clear messages make it much easier to find the change that introduced a bug.",
        "A reproducible build means that two machines compiling the same commit produce identical files.",
        "Error handling is part of the design, not something to add at the end when the happy path works.",
        "The old scheduler was replaced by a simple queue, and the number of incidents dropped within a month.",
        "Code review works best when the reviewer asks questions instead of simply listing what should be different.",
        "Deleting unused code is one of the most satisfying tasks, and it makes every later change easier.",
        "A clear naming convention for branches and releases saves confusion when several people work on the same project.",
        "Automated formatting ends long discussions about style and lets reviewers focus on the logic.",
        "The migration was rolled out to a small share of users first, so problems could be found before everyone was affected.",
        "Caching can hide a slow system for a while, but stale data brings its own class of bugs.",
        "Every script that deletes files should have a dry-run mode that prints what it would remove.",
        "Good monitoring answers the question of whether users are affected, not only whether a server is busy.",
        "Pair programming on a difficult bug often finds the cause faster than two people working alone.",
        "Plain text formats such as CSV and JSON remain readable long after the program that wrote them is gone.",
        "A checklist for releases prevents the same small mistakes from happening again and again.",
        "Keeping the main branch always releasable takes discipline, but it removes the stress from release day.",
        "Tests that depend on the current time or on random numbers should fix both, or they will fail at random.",
        "The best tools are often the boring ones that have worked reliably for many years.",
    ],
}

# German text stays within Latin-1 so that the same pool can be served as iso-8859-1.
DE = {
    "gardening": [
        "Dicke Bohnen, die im späten Herbst gesät werden, blühen meistens zwei Wochen früher als die Frühjahrssaat.",
        "Ein Frühbeet aus alten Fensterscheiben reicht völlig aus, um junge Pflanzen langsam an die Kälte zu gewöhnen.",
        "Wer zum ersten Mal Zucchini pflanzt, merkt schnell, dass zwei Pflanzen für eine Familie mehr als genug sind.",
        "Der Komposthaufen arbeitet am besten, wenn grüner Rasenschnitt und trockenes Laub im Wechsel aufgeschichtet werden.",
        "Schnecken sammelt man am zuverlässigsten abends mit einer Taschenlampe und einem Eimer.",
        "Im Gartenheft notieren wir jedes Jahr die Aussaattermine, die Sorten und das Wetter der jeweiligen Woche.",
        "Rhabarber braucht kaum Pflege, freut sich aber im Winter über eine dicke Schicht aus gut verrottetem Mist.",
        "Tomaten im Freiland reifen in einem kühlen Sommer selten vollständig aus, deshalb lohnt sich ein einfaches Regendach.",
        "Eine Reihe Ringelblumen am Beetrand lockt Schwebfliegen an, deren Larven viele Blattläuse fressen.",
        "Hochbeete erwärmen sich im Frühjahr schneller und schonen den Rücken, trocknen im Sommer aber rasch aus.",
        "Die Regentonne am Gartenhaus fängt in einem nassen Monat genug Wasser für die ganze Parzelle auf.",
        "Knoblauch, der vor dem Winter gesteckt wird, bildet größere Knollen, weil er eine Kälteperiode braucht.",
        "Ein Netz über dem Kohl hält die Tauben fern und verhindert, dass die Kohlweißlinge ihre Eier ablegen.",
        "Erdbeerpflanzen lassen nach drei oder vier Jahren deutlich nach, darum sollte man jedes Jahr einige Ausläufer bewurzeln.",
        "Eine dünne Schicht Rasenschnitt zwischen den Reihen hält die Feuchtigkeit im Boden und unterdrückt das Unkraut.",
        "Gründüngung wie Phacelia oder Klee schützt den offenen Boden über den Winter und verbessert seine Struktur.",
        "Ein kleiner Teich lockt Frösche und Kröten an, die sich gern über die Schnecken hermachen.",
        "Im September werden die Beete abgeräumt, die Kürbisse reifen in der Sonne nach, und die Planung für das nächste Jahr beginnt.",
        "Die älteren Gärtnerinnen in unserer Anlage geben ihr Wissen gern weiter, man muss sie nur fragen.",
        "Pastinaken keimen sehr langsam, deshalb säen manche ein paar Radieschen als Markiersaat in dieselbe Rille.",
    ],
    "rail": [
        "Der Nachtzug verlässt die Hauptstadt kurz vor zehn Uhr und erreicht die Küste, wenn die ersten Fischerboote zurückkehren.",
        "Ein Abteil im Schlafwagen sollte man für den Sommer mehrere Monate im Voraus reservieren.",
        "Regionalzüge sind langsamer als die Schnellzüge, halten aber in kleinen Orten, die kaum ein Reisender kennt.",
        "Auf Nebenstrecken ohne Mobilfunkempfang ist ein gedruckter Fahrplan noch immer sehr nützlich.",
        "Der steinerne Viadukt wurde vor über hundertfünfzig Jahren gebaut und trägt noch heute täglich mehrere Züge über das Tal.",
        "Früher dauerte der Umstieg an der Grenze fast eine Stunde, weil die beiden Bahnen unterschiedliche Spurweiten hatten.",
        "Im Speisewagen gibt es eine einfache Karte mit Suppe, Brot und einem warmen Hauptgericht.",
        "Schweres Gepäck ist in Zügen mit hohen Stufen eine Last, deshalb reisen erfahrene Fahrgäste mit einer kleinen Tasche.",
        "Die restaurierte Dampflok fährt an Sommerwochenenden und wird ausschließlich von Ehrenamtlichen gepflegt.",
        "Auf der Küstenstrecke sitzt man am besten auf der linken Seite, denn dort liegt fast die ganze Zeit das Meer.",
        "Verspätungen auf eingleisigen Strecken übertragen sich schnell, weil die Züge an den Kreuzungsbahnhöfen aufeinander warten müssen.",
        "Im alten Stellwerk neben dem Bahnsteig ist heute ein kleines Museum über die Geschichte der Strecke untergebracht.",
        "Wer sein Fahrrad mitnehmen möchte, sollte früh buchen, da die Stellplätze in jedem Zug begrenzt sind.",
        "Die Strecke wurde in den sechziger Jahren stillgelegt und nach einer langen Bürgerinitiative wieder eröffnet.",
        "Nachtzüge sparen die Kosten für ein Hotel und kommen mitten in der Stadt an statt an einem fernen Flughafen.",
        "Auf abgelegenen Strecken lohnt es sich, etwas zu essen und zu trinken dabeizuhaben.",
        "Vom Oberdeck des Doppelstockzugs hat man einen weiten Blick über die Weinberge am Fluss.",
        "Eine langsame Reise mit der Bahn macht den Weg selbst zu einem Teil des Urlaubs.",
        "Der Schaffner kontrolliert die Fahrkarten kurz nach der Abfahrt und beantwortet gern Fragen zu den Anschlüssen.",
        "Die Ingenieure gruben den Tunnel von beiden Seiten und trafen sich in der Mitte mit einer Abweichung von wenigen Zentimetern.",
    ],
    "cooking": [
        "Eine gute Brühe beginnt mit kaltem Wasser, ein paar gerösteten Knochen und Gemüse, das stundenlang leise köchelt.",
        "Zwiebeln brauchen mindestens eine Viertelstunde bei kleiner Hitze, bis sie weich, süß und goldbraun sind.",
        "Brotteig, der über Nacht im Kühlschrank langsam geht, entwickelt ein viel tieferes Aroma.",
        "Das Nudelwasser sollte kräftig gesalzen werden, denn nur so bekommen die Nudeln selbst Geschmack.",
        "Getrocknete Bohnen garen gleichmäßiger, wenn sie über Nacht eingeweicht wurden.",
        "Eine gusseiserne Pfanne, die nach jedem Gebrauch leicht eingeölt wird, hält über Generationen.",
        "Frische Kräuter wie Basilikum und Petersilie kommen erst zum Schluss dazu, Rosmarin und Thymian dürfen lange mitkochen.",
        "Linsensuppe ist billig, macht satt und lässt sich mit Kreuzkümmel oder einem Spritzer Zitrone immer wieder anders würzen.",
        "Fleisch sollte nach dem Braten zehn Minuten ruhen, damit sich der Saft wieder verteilt.",
        "Mürbeteig bleibt zart, wenn die Butter kalt ist und der Teig nur kurz geknetet wird.",
        "Unsere Großmutter maß das Mehl mit einer Kaffeetasse und hat das Rezept für ihren Apfelkuchen nie aufgeschrieben.",
        "Reis wird so lange gewaschen, bis das Wasser fast klar ist, dann klebt er später nicht zusammen.",
        "Probieren während des Kochens ist der sicherste Weg zur richtigen Würze.",
        "Im Ofen geröstetes Gemüse karamellisiert an den Rändern und schmeckt süßer als gekochtes.",
        "Marmelade ist fertig, wenn ein Tropfen auf einem kalten Teller nach kurzer Zeit fest wird.",
        "Auf dem Wochenmarkt verkauft ein Hof aus dem Nachbardorf Eier mit tief orangefarbenem Dotter.",
        "Ganze Gewürze, die eine Minute in der trockenen Pfanne geröstet werden, duften viel intensiver.",
        "Eintopf schmeckt am zweiten Tag oft besser, weil sich die Aromen über Nacht verbinden.",
        "Knoblauch verbrennt schnell und wird dann bitter, deshalb kommt er erst nach den Zwiebeln in die Pfanne.",
        "Selbst gemachter Joghurt braucht nur warme Milch, einen Löffel Naturjoghurt und einen ruhigen Platz für die Nacht.",
    ],
    "history": [
        "Der Marktplatz wurde im sechzehnten Jahrhundert gepflastert, und vor dem Rathaus liegen noch die ursprünglichen Steine.",
        "Aus den Kirchenbüchern geht hervor, dass die Mühle am Bach zwischen 1650 und 1800 neunmal den Besitzer wechselte.",
        "Der alte Gasthof an der Poststraße war das erste Gebäude im Ort mit Gasbeleuchtung.",
        "Nach einem Brand im Gerberviertel durften neue Häuser nur noch mit Ziegeln gedeckt werden.",
        "Kinder von den entlegenen Höfen liefen jeden Tag bis zu fünf Kilometer zur Dorfschule.",
        "Mit dem Anschluss an die Eisenbahn im Jahr 1861 verdoppelte sich die Einwohnerzahl innerhalb von zwanzig Jahren.",
        "Viele Straßennamen erinnern an die Handwerke, die dort früher ausgeübt wurden, etwa die Gerbergasse oder der Seilerweg.",
        "Der Heimatverein trifft sich an jedem ersten Dienstag im Monat im Lesesaal über der Bücherei.",
        "Beim großen Hochwasser von 1894 stand das Wasser in der Hauptstraße bis zu den Schaufenstern.",
        "Alte Fotografien zeigen, dass an der Brücke einst ein Zollhaus stand, das nach der Abschaffung des Brückenzolls abgerissen wurde.",
        "Briefe im Kreisarchiv beschreiben den harten Winter von 1740, als der Fluss sieben Wochen lang zugefroren war.",
        "Ein wohlhabender Tuchhändler stiftete in seinem Testament das Armenhaus neben der Kirche.",
        "Im Heimatmuseum sind Tonpfeifen zu sehen, die bei Grabungen auf dem Gelände der alten Brauerei gefunden wurden.",
        "Tonaufnahmen aus den siebziger Jahren bewahren die Stimmen von Menschen, die noch vor 1900 geboren wurden.",
        "Die Turmuhr der Kirche wurde mit einer öffentlichen Sammlung bezahlt, nachdem die alte in einem Sturm stehen geblieben war.",
        "Eine Gruppe von Freiwilligen hat drei Jahre lang die Tauf- und Sterberegister der Gemeinde abgeschrieben.",
        "Die erste öffentliche Bücherei bestand aus einem einzigen Raum mit vierhundert gespendeten Büchern.",
        "Bei Bauarbeiten hinter der Post kamen Reste einer mittelalterlichen Straße zum Vorschein.",
        "Die Stadtführungen des Vereins folgen dem Verlauf der alten Stadtmauer, von der nur zwei Tore erhalten sind.",
        "Jedes Haus hat eine Geschichte, und die Akten im Archiv stehen allen offen, die sich einen Nachmittag Zeit nehmen.",
    ],
}

FR = {
    "gardening": [
        "Les fèves semées à la fin de l'automne fleurissent en général deux semaines plus tôt que celles semées au printemps.",
        "Un châssis fabriqué avec de vieilles fenêtres suffit pour habituer les jeunes plants au froid avant la plantation.",
        "Les jardiniers débutants découvrent vite que deux pieds de courgettes produisent bien plus qu'une famille ne peut manger.",
        "Le compost se décompose mieux quand on alterne les tontes de gazon et les matières sèches comme la paille ou le carton.",
        "La meilleure façon de lutter contre les limaces reste une lampe de poche et un seau, le soir après la pluie.",
        "Nous tenons un petit carnet où nous notons les dates de semis, les variétés et le temps qu'il a fait.",
        "La rhubarbe demande très peu de soins, mais elle apprécie une bonne couche de fumier chaque hiver.",
        "En plein air, les tomates mûrissent rarement complètement quand l'été est frais, d'où l'intérêt d'un petit abri.",
        "Une bordure de soucis attire les syrphes, dont les larves dévorent un nombre étonnant de pucerons.",
        "Les bacs surélevés se réchauffent plus vite au printemps, mais ils sèchent rapidement pendant les fortes chaleurs.",
        "L'ail planté avant l'hiver forme de plus grosses têtes, car il a besoin d'une période de froid.",
        "Un filet au-dessus des choux éloigne les pigeons et empêche les papillons de pondre sur les feuilles.",
        "Les fraisiers s'épuisent au bout de trois ou quatre ans, il vaut donc mieux repiquer quelques stolons chaque été.",
        "Un paillage de tonte de gazon entre les rangs garde l'humidité et limite les mauvaises herbes.",
        "Un engrais vert comme la phacélie protège la terre nue pendant l'hiver et améliore sa structure.",
        "Une petite mare attire les grenouilles et les crapauds, qui se nourrissent volontiers de limaces.",
        "En septembre, on nettoie les planches, les courges finissent de mûrir au soleil et on commence à préparer l'année suivante.",
        "Les anciens du jardin partagé donnent volontiers des conseils, il suffit de leur poser la question.",
    ],
    "rail": [
        "Le train de nuit quitte la capitale peu avant vingt-deux heures et arrive sur la côte au lever du jour.",
        "Il faut réserver une couchette plusieurs mois à l'avance pour voyager en été dans de bonnes conditions.",
        "Les trains régionaux sont plus lents, mais ils s'arrêtent dans de petites villes que peu de voyageurs connaissent.",
        "Sur les petites lignes de montagne, un horaire imprimé reste très utile quand le réseau mobile disparaît.",
        "Le viaduc en pierre a été achevé il y a plus d'un siècle et porte encore plusieurs trains par jour au-dessus de la vallée.",
        "Autrefois, le changement de train à la frontière prenait une heure, car les deux réseaux n'avaient pas le même écartement.",
        "La voiture-restaurant propose un menu simple avec une soupe, du pain et un plat chaud.",
        "Les bagages lourds sont pénibles dans les trains aux marches hautes, alors les habitués voyagent avec un petit sac.",
        "La locomotive à vapeur restaurée circule les week-ends d'été grâce au travail de bénévoles passionnés.",
        "Sur la ligne du littoral, il vaut mieux s'asseoir à gauche pour profiter de la vue sur la mer.",
        "Sur une voie unique, un seul retard se propage vite, puisque les trains doivent s'attendre aux gares de croisement.",
        "L'ancien poste d'aiguillage accueille aujourd'hui un petit musée consacré à l'histoire de la ligne.",
        "Voyager avec un vélo demande un peu d'organisation, car le nombre de places est limité dans chaque train.",
        "La ligne a fermé dans les années soixante puis a rouvert quarante ans plus tard grâce à la mobilisation des habitants.",
        "Un train de nuit évite une nuit d'hôtel et arrive en plein centre-ville plutôt que dans un aéroport éloigné.",
        "Le contrôleur vérifie les billets peu après le départ et répond volontiers aux questions sur les correspondances.",
        "Sur les lignes isolées, mieux vaut emporter de quoi manger, car il n'y a pas toujours de service à bord.",
        "Un voyage lent en train fait du trajet lui-même une partie des vacances.",
    ],
    "cooking": [
        "Un bon bouillon commence avec de l'eau froide, quelques os rôtis et des légumes qui mijotent doucement pendant des heures.",
        "Les oignons ont besoin d'au moins quinze minutes à feu doux pour devenir tendres, sucrés et dorés.",
        "Une pâte à pain qui lève lentement au réfrigérateur pendant la nuit développe beaucoup plus de goût.",
        "Il faut saler généreusement l'eau des pâtes, c'est la seule occasion d'assaisonner les pâtes elles-mêmes.",
        "Les haricots secs cuisent de façon plus régulière quand ils ont trempé toute une nuit.",
        "Une poêle en fonte bien entretenue et huilée après chaque utilisation peut durer plusieurs générations.",
        "Les herbes fraîches comme le basilic s'ajoutent à la fin, alors que le thym et le romarin supportent une longue cuisson.",
        "La soupe de lentilles est économique, nourrissante et facile à varier avec du cumin ou un filet de citron.",
        "Il est préférable de laisser reposer la viande dix minutes après la cuisson pour que le jus se répartisse.",
        "La pâte brisée reste tendre si le beurre est bien froid et si on la travaille le moins possible.",
        "Notre grand-mère mesurait la farine avec une tasse à café et n'a jamais écrit la recette de son gâteau aux pommes.",
        "Goûter pendant la cuisson reste le moyen le plus sûr d'obtenir un assaisonnement juste.",
        "Les légumes rôtis à four très chaud caramélisent sur les bords et paraissent plus sucrés que les légumes bouillis.",
        "La confiture est prête quand une goutte versée sur une assiette froide se fige rapidement.",
        "Au marché, une ferme voisine vend des œufs dont le jaune est d'un orange profond.",
        "Faire griller les épices entières une minute dans une poêle sèche libère tous leurs arômes.",
        "Un ragoût est souvent meilleur le lendemain, quand les saveurs ont eu le temps de se mêler.",
        "L'ail brûle vite et devient amer, c'est pourquoi on l'ajoute après les oignons.",
    ],
    "astronomy": [
        "Par une nuit claire, loin des lumières de la ville, la Voie lactée se voit facilement à l'œil nu.",
        "Une simple paire de jumelles suffit pour apercevoir les quatre plus grandes lunes de Jupiter.",
        "Le meilleur moment pour observer la Lune n'est pas la pleine lune, mais le premier quartier, quand les ombres soulignent les cratères.",
        "Les yeux ont besoin d'une vingtaine de minutes dans l'obscurité pour distinguer les galaxies les plus faibles.",
        "Une lampe rouge préserve la vision nocturne, c'est pourquoi les astronomes couvrent leurs lampes d'un filtre rouge.",
        "Les Perséides atteignent leur maximum à la mi-août et peuvent offrir plusieurs dizaines de météores par heure.",
        "Les anneaux de Saturne sont visibles dans une petite lunette avec un grossissement d'environ cinquante fois.",
        "Le club tient un cahier où chaque membre note la date, l'état du ciel et les objets observés.",
        "La pollution lumineuse cache aujourd'hui la plupart des étoiles que nos grands-parents pouvaient encore voir.",
        "La galaxie d'Andromède est l'objet le plus lointain que l'on puisse voir sans instrument.",
        "Vénus est souvent confondue avec un avion, tant elle brille fort au-dessus de l'horizon le soir.",
        "Une carte du ciel et un peu de patience suffisent pour apprendre les principales constellations en une saison.",
        "Un télescope doit se mettre à la température extérieure, sinon l'image tremble dans l'air chaud du tube.",
        "Une éclipse totale de Soleil ne dure que quelques minutes, pourtant des gens traversent le monde pour la voir.",
        "Il ne faut jamais observer le Soleil sans un filtre adapté, car la lumière concentrée par une lentille brûle l'œil instantanément.",
        "La nébuleuse d'Orion apparaît comme un petit nuage gris dans les jumelles et révèle plus de détails dans un grand instrument.",
        "L'observatoire sur la colline ouvre ses portes au public le vendredi soir quand le temps le permet.",
        "Montrer les anneaux de Saturne à un enfant qui ne les a jamais vus reste un moment inoubliable.",
    ],
}

ES = {
    "gardening": [
        "Las habas sembradas a finales de otoño suelen florecer dos semanas antes que las sembradas en primavera.",
        "Una cajonera fría hecha con ventanas viejas basta para acostumbrar los plantones al frío antes del trasplante.",
        "Quien planta calabacines por primera vez descubre pronto que dos plantas dan mucho más de lo que una familia puede comer.",
        "El compost funciona mejor cuando se alternan capas de hierba cortada y material seco como paja o cartón.",
        "La forma más eficaz de controlar las babosas sigue siendo salir de noche con una linterna y un cubo.",
        "En un cuaderno sencillo apuntamos las fechas de siembra, las variedades y el tiempo de cada semana.",
        "Los tomates cultivados al aire libre rara vez maduran del todo en un verano fresco.",
        "Una hilera de caléndulas en el borde del bancal atrae a los sírfidos, cuyas larvas se comen muchos pulgones.",
        "Los bancales elevados se calientan antes en primavera y cuidan la espalda, aunque se secan rápido en verano.",
        "El ajo plantado antes del invierno forma cabezas más grandes, porque necesita un periodo de frío.",
        "Una red sobre las coles mantiene alejadas a las palomas y evita que las mariposas pongan sus huevos.",
        "Las fresas pierden fuerza después de tres o cuatro años, así que conviene enraizar algunos estolones cada verano.",
        "Una capa fina de hierba cortada entre las filas conserva la humedad y frena las malas hierbas.",
        "Los abonos verdes como la facelia protegen la tierra desnuda durante el invierno y mejoran su estructura.",
        "Un pequeño estanque atrae ranas y sapos que se alimentan de babosas.",
        "En septiembre se limpian los bancales, las calabazas terminan de madurar al sol y empieza la planificación del año siguiente.",
        "Los hortelanos más veteranos comparten sus consejos con gusto, solo hay que preguntarles.",
        "El agua de lluvia que recogen los bidones de la caseta alcanza para regar todo el huerto durante un mes húmedo.",
    ],
    "rail": [
        "El tren nocturno sale de la capital poco antes de las diez y llega a la costa cuando vuelven los primeros barcos de pesca.",
        "Para viajar en verano en coche cama conviene reservar la litera con varios meses de antelación.",
        "Los trenes regionales son más lentos, pero paran en pueblos pequeños que casi ningún viajero conoce.",
        "En las líneas de montaña sin cobertura móvil, un horario impreso sigue siendo muy útil.",
        "El viaducto de piedra se terminó hace más de un siglo y todavía cruza el valle con varios trenes al día.",
        "Antes, el cambio de tren en la frontera duraba una hora porque las dos redes tenían un ancho de vía distinto.",
        "El vagón restaurante ofrece un menú sencillo con sopa, pan y un plato caliente.",
        "El equipaje pesado es un estorbo en los trenes con escalones altos, por eso los viajeros expertos llevan una bolsa pequeña.",
        "La locomotora de vapor restaurada circula los fines de semana de verano gracias a un grupo de voluntarios.",
        "En la línea de la costa es mejor sentarse a la izquierda para ver el mar durante casi todo el trayecto.",
        "En una vía única, un retraso se extiende enseguida, porque los trenes tienen que esperarse en las estaciones de cruce.",
        "La antigua caseta de señales junto al andén alberga hoy un pequeño museo sobre la historia de la línea.",
        "Viajar con bicicleta exige algo de planificación, ya que las plazas para bicicletas en cada tren son limitadas.",
        "La línea se cerró en los años sesenta y volvió a abrirse cuarenta años después tras una larga campaña vecinal.",
        "Un tren nocturno ahorra el coste de un hotel y llega al centro de la ciudad en lugar de a un aeropuerto lejano.",
        "El revisor comprueba los billetes poco después de la salida y responde con gusto a las preguntas sobre los enlaces.",
        "En las líneas más aisladas conviene llevar algo de comida y agua, porque no siempre hay servicio a bordo.",
        "Un viaje lento en tren convierte el propio trayecto en una parte de las vacaciones.",
    ],
    "cooking": [
        "Un buen caldo empieza con agua fría, unos huesos tostados y verduras que hierven a fuego lento durante horas.",
        "La cebolla necesita al menos quince minutos a fuego suave para quedar blanda, dulce y dorada.",
        "La masa de pan que fermenta despacio en la nevera durante la noche desarrolla un sabor mucho más profundo.",
        "El agua de la pasta debe llevar bastante sal, porque es la única ocasión de sazonar la propia pasta.",
        "Las legumbres secas se cuecen de manera más uniforme si se dejan en remojo toda la noche.",
        "Una sartén de hierro fundido que se engrasa después de cada uso puede durar varias generaciones.",
        "Las hierbas frescas como la albahaca se añaden al final, mientras que el romero y el tomillo aguantan una cocción larga.",
        "La sopa de lentejas es barata, llena mucho y se puede variar con comino, pimentón o un chorrito de limón.",
        "Conviene dejar reposar la carne diez minutos después de asarla para que los jugos se repartan.",
        "Nuestra abuela medía la harina con una taza de café y nunca escribió la receta de su bizcocho de manzana.",
        "El arroz se lava hasta que el agua sale casi transparente, así no queda pegajoso.",
        "Probar la comida mientras se cocina es la manera más segura de acertar con la sal.",
        "Las verduras asadas a temperatura alta se caramelizan por los bordes y saben más dulces que las hervidas.",
        "La mermelada está lista cuando una gota sobre un plato frío se vuelve firme en pocos segundos.",
        "En el mercado del barrio, una granja cercana vende huevos con la yema de un naranja intenso.",
        "Tostar las especias enteras un minuto en una sartén seca libera todo su aroma.",
        "Un guiso suele estar más rico al día siguiente, cuando los sabores han tenido tiempo de mezclarse.",
        "El ajo se quema con facilidad y amarga, por eso se añade después de la cebolla.",
    ],
    "history": [
        "La plaza mayor se empedró en el siglo dieciséis y delante del ayuntamiento todavía se conservan las piedras originales.",
        "Los libros parroquiales muestran que el molino del río cambió de dueño nueve veces entre 1650 y 1800.",
        "La antigua posada del camino real fue el primer edificio del pueblo con alumbrado de gas.",
        "Tras un incendio en el barrio de los curtidores, el concejo obligó a cubrir los tejados con teja.",
        "Los niños de los cortijos más alejados caminaban cada día hasta cinco kilómetros para llegar a la escuela.",
        "Con la llegada del ferrocarril en 1861, la población casi se duplicó en solo veinte años.",
        "Muchos nombres de calles recuerdan los oficios que antes las llenaban, como la calle de los Tintoreros o la de los Cordeleros.",
        "La asociación de historia local se reúne el primer martes de cada mes en la sala de lectura de la biblioteca.",
        "En la gran riada de 1894 el agua llegó en la calle principal hasta los escaparates de las tiendas.",
        "Las fotografías antiguas muestran que junto al puente había una casa de portazgo, derribada cuando se suprimió el peaje.",
        "Las cartas guardadas en el archivo provincial describen el duro invierno de 1740, cuando el río se heló durante siete semanas.",
        "Un rico comerciante de lana dejó en su testamento el dinero para construir el hospicio que sigue junto a la iglesia.",
        "El museo municipal conserva pipas de barro halladas durante la excavación del patio de la antigua fábrica de cerveza.",
        "Las grabaciones de historia oral realizadas en los años setenta conservan las voces de personas nacidas antes de 1900.",
        "El reloj de la torre se pagó con una colecta popular después de que el antiguo se parara durante una tormenta.",
        "Un grupo de voluntarios ha pasado tres años transcribiendo los registros de bautismos y defunciones de la parroquia.",
        "La primera biblioteca pública ocupaba una sola sala con cuatrocientos libros donados por las familias del pueblo.",
        "Cada casa tiene su historia, y los documentos del archivo están abiertos a cualquiera que dedique una tarde a leerlos.",
    ],
}

ZH = {
    "gardening": [
        "秋末播下的蚕豆，第二年春天通常会比春播的早开花两个星期左右。",
        "用旧窗户做一个简易的冷床，就足以让幼苗在移栽前慢慢适应低温。",
        "第一次种西葫芦的人很快就会发现，两株的产量已经远远超过一家人的需要。",
        "堆肥时把新鲜的草屑和干燥的落叶、稻草一层一层交替铺好，分解得最快。",
        "下雨后的傍晚拿着手电筒和小桶去捉蜗牛，是最省事也最有效的办法。",
        "我们有一个小本子，专门记录每年的播种日期、品种和当时的天气。",
        "在凉爽的夏天，露地种植的番茄往往很难完全成熟，所以很多人会搭一个简单的防雨棚。",
        "在菜畦边种一排金盏花，可以吸引食蚜蝇，它们的幼虫会吃掉大量蚜虫。",
        "高床在春天升温快，也不用弯腰劳作，但到了夏天干得也特别快。",
        "入冬前种下的大蒜会长出更大的蒜头，因为它需要经历一段低温时期。",
        "在白菜上面盖一层细网，既能挡住鸽子，也能防止菜粉蝶在叶子上产卵。",
        "草莓种了三四年以后长势就会变弱，因此每年夏天最好留几根匍匐茎培育新苗。",
        "在行间铺一层薄薄的草屑，可以保持土壤湿润，也能减少杂草。",
        "院子里挖一个小水池，会引来青蛙和蟾蜍，它们很喜欢吃蛞蝓。",
        "到了九月，菜地清理干净，南瓜在阳光下慢慢后熟，我们也开始计划来年种什么。",
        "向菜园里的老前辈请教从来不用花钱，他们大多很乐意分享自己的经验。",
    ],
    "rail": [
        "夜班列车在晚上十点前驶出首都，第二天清晨抵达海边的小城。",
        "暑假期间如果想订到下铺，最好提前几个月购买卧铺票。",
        "普通列车虽然比高铁慢，却会停靠许多游客从未听说过的小镇。",
        "在山区线路上，手机信号常常中断，这时一张纸质时刻表就显得格外有用。",
        "那座石拱桥建成已经一百多年，如今每天仍有好几趟列车从山谷上方经过。",
        "餐车的菜单很简单，有汤、米饭和几道家常热菜，价格也还算公道。",
        "车厢的台阶很高，带着沉重的行李上下车非常吃力，所以有经验的旅客只带一个小包。",
        "修复后的蒸汽机车只在夏季的周末运行，全靠一群志愿者维护。",
        "沿海线路有很长一段紧贴着悬崖，坐在车厢左侧可以一直看到大海。",
        "在单线铁路上，一趟车晚点很快就会影响其他列车，因为它们必须在会让站互相等待。",
        "站台旁边的旧信号楼现在改成了一个小型博物馆，介绍这条线路的历史。",
        "乘坐夜车可以省下一晚的住宿费，而且列车直接到达市中心。",
        "列车员在开车后不久查票，也很乐意回答关于换乘的问题。",
        "在偏远的线路上最好自己带些食物和水，因为车上不一定有售货服务。",
        "慢慢地坐火车旅行，让路途本身也成为假期的一部分。",
        "从双层列车的上层望出去，河谷两岸的葡萄园一览无余。",
    ],
}

IT = {
    "cooking": [
        "Un buon brodo comincia con acqua fredda, qualche osso tostato e verdure che sobbollono piano per ore.",
        "La cipolla ha bisogno di almeno un quarto d'ora a fuoco basso per diventare morbida, dolce e dorata.",
        "L'impasto del pane che lievita lentamente in frigorifero durante la notte sviluppa un sapore molto più ricco.",
        "L'acqua della pasta va salata con generosità, perché è l'unica occasione per insaporire la pasta stessa.",
        "I legumi secchi cuociono in modo più uniforme se vengono lasciati in ammollo per tutta la notte.",
        "Le erbe fresche come il basilico si aggiungono alla fine, mentre il rosmarino sopporta una cottura lunga.",
        "La nonna misurava la farina con una tazzina da caffè e non ha mai scritto la ricetta della sua torta di mele.",
        "Assaggiare mentre si cucina resta il modo più sicuro per trovare il giusto equilibrio di sale.",
        "Le verdure arrostite in forno molto caldo si caramellano ai bordi e risultano più dolci di quelle lessate.",
        "Il sugo di pomodoro è spesso più buono il giorno dopo, quando i sapori hanno avuto il tempo di amalgamarsi.",
        "Al mercato del sabato un contadino della valle vende uova con il tuorlo di un arancione intenso.",
    ],
    "rail": [
        "Il treno notturno lascia la capitale poco prima delle dieci e arriva sulla costa all'alba.",
        "Prenotare una cuccetta con qualche mese di anticipo è l'unico modo per viaggiare comodi in estate.",
        "Il treno regionale è più lento, ma si ferma in piccoli paesi che pochi viaggiatori conoscono.",
        "Sulle linee di montagna un orario stampato è ancora utilissimo quando il telefono resta senza segnale.",
        "Il viadotto in pietra fu completato più di un secolo fa e porta ancora diversi treni al giorno sopra la valle.",
        "La locomotiva a vapore restaurata viaggia nei fine settimana d'estate grazie a un gruppo di volontari.",
        "Sulla linea costiera conviene sedersi sul lato sinistro per vedere il mare quasi per tutto il viaggio.",
        "Il vecchio casello accanto al binario ospita oggi un piccolo museo sulla storia della ferrovia.",
        "Il capotreno controlla i biglietti poco dopo la partenza e risponde volentieri alle domande sulle coincidenze.",
        "Sulle linee più isolate conviene portare qualcosa da mangiare, perché non sempre c'è il servizio a bordo.",
        "Un viaggio lento in treno trasforma il percorso stesso in una parte della vacanza.",
    ],
}

PT = {
    "gardening": [
        "As favas semeadas no fim do outono costumam florir duas semanas antes das que são semeadas na primavera.",
        "Quem planta abobrinha pela primeira vez descobre logo que dois pés produzem muito mais do que uma família consegue comer.",
        "O composto funciona melhor quando se alternam camadas de relva cortada e material seco, como palha ou cartão.",
        "A forma mais eficaz de controlar as lesmas continua a ser sair à noite com uma lanterna e um balde.",
        "Num caderno simples anotamos as datas de sementeira, as variedades e o tempo de cada semana.",
        "Os tomates cultivados ao ar livre raramente amadurecem por completo num verão fresco.",
        "Uma fileira de calêndulas na borda do canteiro atrai insetos que comem muitos pulgões.",
        "O alho plantado antes do inverno forma cabeças maiores, porque precisa de um período de frio.",
        "Uma rede por cima das couves afasta os pombos e impede que as borboletas ponham os ovos nas folhas.",
        "Em setembro limpam-se os canteiros, as abóboras acabam de amadurecer ao sol e começa o planeamento do ano seguinte.",
        "Os hortelãos mais antigos partilham os seus conselhos com gosto, basta perguntar.",
    ],
    "cooking": [
        "Um bom caldo começa com água fria, alguns ossos tostados e legumes que cozinham em lume brando durante horas.",
        "A cebola precisa de pelo menos quinze minutos em lume baixo para ficar macia, doce e dourada.",
        "A massa de pão que leveda devagar no frigorífico durante a noite ganha um sabor muito mais profundo.",
        "Os feijões secos cozem de forma mais uniforme quando ficam de molho durante toda a noite.",
        "A nossa avó media a farinha com uma chávena de café e nunca escreveu a receita do seu bolo de maçã.",
        "Provar a comida enquanto se cozinha é a maneira mais segura de acertar no sal.",
        "Os legumes assados em forno bem quente caramelizam nas bordas e ficam mais doces do que os cozidos.",
        "A compota está pronta quando uma gota num prato frio fica firme em poucos segundos.",
        "No mercado do bairro, uma quinta vizinha vende ovos com a gema de um laranja intenso.",
        "Um guisado costuma ficar mais saboroso no dia seguinte, quando os sabores já se misturaram.",
        "O alho queima com facilidade e fica amargo, por isso junta-se depois da cebola.",
    ],
}

POOLS = {"en": EN, "de": DE, "fr": FR, "es": ES, "zh": ZH, "it": IT, "pt": PT}

# Article titles per (language, topic), used in order.
TITLES = {
    ("en", "gardening"): [
        "Sowing broad beans before winter", "What the allotment taught us this year",
        "A beginner's guide to compost", "Keeping slugs away without chemicals",
        "Planning a small plot for four seasons", "Notes from plot twelve", "Why we stopped digging",
    ],
    ("en", "rail"): [
        "Across the mountains on the night train", "Branch lines worth the detour",
        "How to travel by train with a bicycle", "The viaduct that refused to fall down",
        "A week of regional trains", "Sleeper trains are back", "Notes from the coastal line",
    ],
    ("en", "cooking"): [
        "The patience of a good stock", "Bread that rises overnight", "Five ways with a pot of lentils",
        "Learning to cook without a recipe", "A cast iron pan for life",
        "Cooking for friends on a small budget", "What our grandmother never wrote down",
    ],
    ("en", "history"): [
        "The mill on the river", "When the railway came to town", "Street names and forgotten trades",
        "The great flood of 1894", "Reading the parish registers", "A walk along the old town wall",
        "How the town got its water supply",
    ],
    ("en", "astronomy"): [
        "Your first night with binoculars", "Watching the Perseids", "Finding Andromeda from a dark field",
        "Why the Moon looks best at first quarter", "A winter evening at the observatory",
        "Learning the constellations in one season", "Fighting light pollution in our valley",
    ],
    ("en", "software"): [
        "Small tests that actually get run", "Notes on reproducible builds",
        "What we learned from a year of code review", "Timeouts belong on every call",
        "Deleting code is a feature", "A boring stack that just works", "Release checklists save weekends",
    ],
    ("de", "gardening"): ["Dicke Bohnen vor dem Winter säen", "Ein Jahr im Schrebergarten", "Kompost für Anfänger"],
    ("de", "rail"): ["Mit dem Nachtzug an die Küste", "Nebenstrecken, die sich lohnen", "Mit dem Fahrrad im Regionalzug"],
    ("de", "cooking"): ["Die Geduld einer guten Brühe", "Brot, das über Nacht geht", "Linsensuppe in fünf Varianten"],
    ("de", "history"): ["Die Mühle am Bach", "Als die Eisenbahn kam", "Das große Hochwasser von 1894"],
    ("fr", "gardening"): ["Semer les fèves avant l'hiver", "Une année au jardin partagé"],
    ("fr", "rail"): ["En train de nuit jusqu'à la mer", "Les petites lignes qui valent le détour"],
    ("fr", "cooking"): ["La patience d'un bon bouillon", "Un pain qui lève pendant la nuit", "La soupe de lentilles de tous les jours"],
    ("fr", "astronomy"): ["Première nuit aux jumelles", "Observer les Perséides", "Une soirée à l'observatoire"],
    ("es", "gardening"): ["Sembrar habas antes del invierno", "Un año en el huerto urbano"],
    ("es", "rail"): ["En tren nocturno hasta la costa", "Líneas regionales que merecen la pena"],
    ("es", "cooking"): ["La paciencia de un buen caldo", "Pan que fermenta durante la noche"],
    ("es", "history"): ["El molino del río", "Cuando llegó el ferrocarril", "La gran riada de 1894"],
    ("zh", "gardening"): ["秋天播种蚕豆的经验", "一年的菜园笔记"],
    ("zh", "rail"): ["乘夜车去海边", "值得一坐的慢车线路"],
    ("it", "cooking"): ["Il brodo della domenica", "La torta della nonna"],
    ("it", "rail"): ["In treno lungo la costa"],
    ("pt", "gardening"): ["Um ano na horta", "Favas antes do inverno"],
    ("pt", "cooking"): ["O caldo de domingo"],
}

HOSTS = {
    ("en", "gardening"): "greenrow-allotments.example", ("en", "rail"): "slowtrains.example",
    ("en", "cooking"): "kitchen-notes.example", ("en", "history"): "oldtown-history.example",
    ("en", "astronomy"): "nightsky-club.example", ("en", "software"): "plainsoftware.example",
    ("de", "gardening"): "gartenbrief.example", ("de", "rail"): "bahnreise-blog.example",
    ("de", "cooking"): "kochwerkstatt.example", ("de", "history"): "heimatverein-talheim.example",
    ("fr", "gardening"): "jardin-partage.example", ("fr", "rail"): "voyages-en-train.example",
    ("fr", "cooking"): "cuisine-du-marche.example", ("fr", "astronomy"): "club-astro-vallee.example",
    ("es", "gardening"): "huerto-urbano.example", ("es", "rail"): "viajar-en-tren.example",
    ("es", "cooking"): "cocina-de-casa.example", ("es", "history"): "historia-del-pueblo.example",
    ("zh", "gardening"): "caiyuan-biji.example", ("zh", "rail"): "tielu-lvxing.example",
    ("it", "cooking"): "cucina-di-nonna.example", ("it", "rail"): "treni-regionali.example",
    ("pt", "gardening"): "horta-caseira.example", ("pt", "cooking"): "cozinha-simples.example",
}

AUTHORS = {
    "en": ["Margaret Hale", "Tom Ashworth", "Priya Nair", "Daniel Okafor", "Ruth Penrose", "Sam Whitfield"],
    "de": ["Anna Bergmann", "Jonas Weber", "Helga Brandt"],
    "fr": ["Claire Dubois", "Julien Moreau", "Sophie Lambert"],
    "es": ["Lucía Fernández", "Pablo Ortega", "Marta Ruiz"],
    "zh": ["李静", "王磊"],
    "it": ["Giulia Conti", "Marco Ferri"],
    "pt": ["Ana Sousa", "Rui Almeida"],
}

# Site furniture per language: menus, cookie banners, sidebars, footers.
UI = {
    "en": dict(
        home="Home", about="About us", contact="Contact", archive="Archive",
        topics=["Gardening", "Travel", "Kitchen", "Local history", "Sky at night", "Software"],
        cookie="We use cookies to understand how visitors use this site and to remember your preferences. You can change your choice at any time in the privacy settings.",
        accept="Accept all", reject="Only necessary", related="Related posts", newsletter="Newsletter",
        newsletter_text="One short email a month with our new articles. No advertising, unsubscribe at any time.",
        subscribe="Subscribe", rights="All rights reserved.", privacy="Privacy policy", imprint="Imprint",
        terms="Terms of use", search="Search this site", share="Share this article", tags="Tags",
        popular="Most read this week", comments="Comments", no_comments="Comments are closed for this article.",
        byline="By {author}, {date}", login="Sign in",
    ),
    "de": dict(
        home="Startseite", about="Über uns", contact="Kontakt", archive="Archiv",
        topics=["Garten", "Reisen", "Küche", "Ortsgeschichte", "Sternenhimmel", "Technik"],
        cookie="Wir verwenden Cookies, um zu verstehen, wie Besucher diese Seite nutzen, und um Ihre Einstellungen zu speichern. Sie können Ihre Auswahl jederzeit in den Datenschutzeinstellungen ändern.",
        accept="Alle akzeptieren", reject="Nur notwendige", related="Ähnliche Beiträge", newsletter="Newsletter",
        newsletter_text="Einmal im Monat eine kurze E-Mail mit neuen Artikeln. Keine Werbung, jederzeit abbestellbar.",
        subscribe="Abonnieren", rights="Alle Rechte vorbehalten.", privacy="Datenschutz", imprint="Impressum",
        terms="Nutzungsbedingungen", search="Suche", share="Artikel teilen", tags="Schlagwörter",
        popular="Meistgelesen", comments="Kommentare", no_comments="Die Kommentare zu diesem Artikel sind geschlossen.",
        byline="Von {author}, {date}", login="Anmelden",
    ),
    "fr": dict(
        home="Accueil", about="À propos", contact="Contact", archive="Archives",
        topics=["Jardin", "Voyages", "Cuisine", "Histoire locale", "Ciel nocturne", "Logiciel"],
        cookie="Nous utilisons des cookies pour comprendre comment les visiteurs utilisent ce site et pour mémoriser vos préférences. Vous pouvez modifier votre choix à tout moment.",
        accept="Tout accepter", reject="Refuser", related="Articles similaires", newsletter="Lettre d'information",
        newsletter_text="Un court courriel par mois avec nos nouveaux articles. Sans publicité, désinscription à tout moment.",
        subscribe="S'abonner", rights="Tous droits réservés.", privacy="Confidentialité", imprint="Mentions légales",
        terms="Conditions d'utilisation", search="Rechercher", share="Partager cet article", tags="Mots-clés",
        popular="Les plus lus", comments="Commentaires", no_comments="Les commentaires sont fermés pour cet article.",
        byline="Par {author}, {date}", login="Connexion",
    ),
    "es": dict(
        home="Inicio", about="Quiénes somos", contact="Contacto", archive="Archivo",
        topics=["Huerto", "Viajes", "Cocina", "Historia local", "Cielo nocturno", "Software"],
        cookie="Usamos cookies para entender cómo se utiliza este sitio y para recordar sus preferencias. Puede cambiar su elección en cualquier momento en la configuración de privacidad.",
        accept="Aceptar todas", reject="Solo necesarias", related="Artículos relacionados", newsletter="Boletín",
        newsletter_text="Un correo breve al mes con los artículos nuevos. Sin publicidad, puede darse de baja cuando quiera.",
        subscribe="Suscribirse", rights="Todos los derechos reservados.", privacy="Privacidad", imprint="Aviso legal",
        terms="Condiciones de uso", search="Buscar", share="Compartir este artículo", tags="Etiquetas",
        popular="Lo más leído", comments="Comentarios", no_comments="Los comentarios de este artículo están cerrados.",
        byline="Por {author}, {date}", login="Entrar",
    ),
    "zh": dict(
        home="首页", about="关于我们", contact="联系我们", archive="文章归档",
        topics=["园艺", "旅行", "厨房", "地方历史", "星空", "软件"],
        cookie="本网站使用 Cookie 来了解访客如何使用本站，并记住您的偏好设置。您可以随时在隐私设置中更改选择。",
        accept="全部接受", reject="仅必要", related="相关文章", newsletter="订阅通讯",
        newsletter_text="每月一封简短的邮件，介绍新文章。没有广告，可随时退订。",
        subscribe="订阅", rights="版权所有。", privacy="隐私政策", imprint="网站信息",
        terms="使用条款", search="站内搜索", share="分享本文", tags="标签",
        popular="本周热门", comments="评论", no_comments="本文评论已关闭。",
        byline="作者：{author}，{date}", login="登录",
    ),
    "it": dict(
        home="Home", about="Chi siamo", contact="Contatti", archive="Archivio",
        topics=["Orto", "Viaggi", "Cucina", "Storia locale", "Cielo notturno", "Software"],
        cookie="Usiamo i cookie per capire come i visitatori usano questo sito e per ricordare le tue preferenze. Puoi cambiare la tua scelta in qualsiasi momento.",
        accept="Accetta tutti", reject="Solo necessari", related="Articoli correlati", newsletter="Newsletter",
        newsletter_text="Una breve email al mese con i nuovi articoli. Niente pubblicità, disiscrizione in qualsiasi momento.",
        subscribe="Iscriviti", rights="Tutti i diritti riservati.", privacy="Privacy", imprint="Note legali",
        terms="Condizioni d'uso", search="Cerca", share="Condividi questo articolo", tags="Tag",
        popular="I più letti", comments="Commenti", no_comments="I commenti a questo articolo sono chiusi.",
        byline="Di {author}, {date}", login="Accedi",
    ),
    "pt": dict(
        home="Início", about="Sobre nós", contact="Contacto", archive="Arquivo",
        topics=["Horta", "Viagens", "Cozinha", "História local", "Céu noturno", "Software"],
        cookie="Usamos cookies para perceber como os visitantes usam este site e para guardar as suas preferências. Pode mudar a sua escolha a qualquer momento.",
        accept="Aceitar todos", reject="Apenas necessários", related="Artigos relacionados", newsletter="Boletim",
        newsletter_text="Um email curto por mês com os novos artigos. Sem publicidade, pode cancelar quando quiser.",
        subscribe="Subscrever", rights="Todos os direitos reservados.", privacy="Privacidade", imprint="Informação legal",
        terms="Termos de utilização", search="Pesquisar", share="Partilhar este artigo", tags="Etiquetas",
        popular="Os mais lidos", comments="Comentários", no_comments="Os comentários deste artigo estão fechados.",
        byline="Por {author}, {date}", login="Entrar",
    ),
}

# ----------------------------------------------------------------------------------------
# Planted cases: texts written for the filters they should trip.
# ----------------------------------------------------------------------------------------

SHORT_PAGES = [  # (host, path, title, text): fewer than 50 words once extracted
    ("oldtown-history.example", "/notices/reading-room-holiday-hours", "Reading room holiday hours",
     "The reading room is closed from the twenty-third of December until the third of January. "
     "Orders placed during the break will be posted in the first week of the new year."),
    ("greenrow-allotments.example", "/notices/plant-sale-moved", "Plant sale moved",
     "The spring plant sale has moved to Saturday the eleventh because of the weather forecast. "
     "Everything else stays the same and the tea stall will be open as usual."),
    ("nightsky-club.example", "/notices/friday-session-cancelled", "Friday session cancelled",
     "Tonight's observing session at the field is cancelled because of thick cloud. "
     "We will try again next Friday at eight o'clock if the sky is clear."),
]

BULLET_PAGES = [  # (host, path, title, intro, items): almost every line is a list item
    ("slowtrains.example", "/lists/night-train-packing-list", "Packing list for a night train",
     "Everything on this list fits into one small bag.",
     ["Ear plugs and a soft eye mask", "A light scarf for the cold air conditioning",
      "Slippers for the corridor at night", "A refillable water bottle", "Toothbrush and small towel",
      "Printed tickets and the reservation", "A paper map of the destination",
      "Charger with a long cable", "Snacks for the late evening", "A paperback novel for the journey",
      "Warm socks for the early morning", "Tea bags and a small mug", "Coins for the station lockers",
      "A pen for the customs form", "Spare batteries for the torch", "Plasters and headache tablets",
      "A clean shirt for the next day", "Wet wipes and a little soap", "A folding shopping bag",
      "The phone number of the hotel", "Reading glasses in a hard case", "A pack of playing cards",
      "Sunglasses for the arrival", "A notebook for the travel diary", "A small padlock for the bag",
      "Lip balm and hand cream", "A spare pair of laces", "Earphones for the radio",
      "A copy of the passport", "A bar of dark chocolate"]),
    ("greenrow-allotments.example", "/lists/seed-order-next-season", "Seeds to order for next season",
     "Our order for the shared seed box, collected at the spring meeting.",
     ["Broad beans for the autumn sowing", "Early potatoes for the lower terrace",
      "Two packets of climbing French beans", "Runner beans with red flowers", "Sweet peas in mixed colours",
      "Parsnips of a canker resistant kind", "Carrots for the raised bed", "Beetroot in a golden variety",
      "Leeks for harvest in winter", "Onion sets for the long border", "Red cabbage for pickling",
      "Purple sprouting broccoli", "Two kinds of winter squash", "Courgettes with yellow fruit",
      "Outdoor tomatoes for the south wall", "Cucumbers for the cold frame", "Lettuce for cutting",
      "Rocket and mustard leaves", "Spinach that resists bolting", "Chard with coloured stems",
      "Marigolds for the edges", "Nasturtiums for the fence", "Phacelia as green manure",
      "Clover for the empty beds", "Dill and coriander for the herbs", "Flat leaf parsley",
      "Sunflowers for the children", "Kale for picking in winter", "Garlic for the autumn planting",
      "Radishes to mark the rows"]),
    ("kitchen-notes.example", "/lists/winter-pantry-checklist", "Winter pantry checklist",
     "Check these before the first snow closes the hill road.",
     ["Two bags of strong bread flour", "Dried yeast in small packets", "Red lentils and green lentils",
      "Dried chickpeas and white beans", "Tinned tomatoes for sauces", "Olive oil and sunflower oil",
      "Rice for risotto and for pilaf", "Oats for the morning porridge", "Honey and golden syrup",
      "Coarse salt and black pepper", "Whole cumin and coriander seeds", "Smoked paprika and chilli flakes",
      "Stock cubes for emergencies", "Pasta in three shapes", "Dried mushrooms for soups",
      "Jars of plum and apple jam", "Pickled cabbage from the autumn", "Onions and garlic in a cool place",
      "Potatoes in a paper sack", "Carrots stored in damp sand", "Apples wrapped in newspaper",
      "Walnuts and hazelnuts", "Dark chocolate for baking", "Coffee beans and loose tea",
      "Powdered milk for the worst days", "Vinegar for the dressings", "Mustard seeds for pickling",
      "Soy sauce and fish sauce", "Baking powder within its date", "Candles and matches for power cuts"]),
]

HASHTAG_PAGES = [  # (host, path, title, paragraphs): many '#' per word
    ("greenrow-allotments.example", "/social/first-tomatoes", "First tomatoes of the year",
     ["The first ripe tomatoes came in from the south wall this morning. #gardening #tomatoes #growyourown #allotment #homegrown",
      "Picked a whole basket of beans and a few courgettes as well. #harvest #beans #courgettes #vegpatch #organic #summer",
      "Thank you to everyone who came to the open day and bought seedlings. #community #plotlife #allotmentlife #gardenersofinstagram",
      "The water butts are almost empty, so please use the watering cans sparingly. #drought #watering #savewater #gardentips #rain"]),
    ("slowtrains.example", "/social/sunrise-on-the-coast-line", "Sunrise on the coast line",
     ["Woke up just as the sleeper reached the coast and the sun came up over the sea. #nighttrain #sleepertrain #railtravel #sunrise #slowtravel",
      "Breakfast in the dining car with a view of the cliffs. #trainjourney #diningcar #coastline #travelgram #wanderlust",
      "Changed to the little branch line train for the last stretch to the harbour. #branchline #regionaltrain #trains #railway #travel",
      "Next stop is the old town and a long walk along the harbour wall. #harbour #oldtown #weekendtrip #trainlife #europebytrain"]),
    ("kitchen-notes.example", "/social/sunday-bread", "Sunday bread",
     ["The overnight dough rose beautifully and went into the hot oven at seven. #baking #bread #sourdough #homebaking #sundaybaking",
      "The crust crackled for ten minutes after it came out of the oven. #realbread #breadmaking #crust #bakersofinstagram #foodie",
      "Served it warm with salted butter and the last jar of plum jam. #breakfast #jam #homemade #slowfood #comfortfood",
      "Recipe and timings are on the blog next week for anyone who asked. #recipe #cooking #kitchen #foodblog #eatlocal"]),
]

BOILERPLATE_ONLY = [  # (lang, host, path, title, skin): menus, banners and footer, no content
    ("en", "plainsoftware.example", "/tags/", "Tags", 0),
    ("de", "gartenbrief.example", "/kontakt/", "Kontakt", 1),
    ("es", "cocina-de-casa.example", "/buscar/", "Buscar", 2),
]

# Exact duplicates: one body served at several URLs with different furniture, case and spacing.
DUPLICATES = [  # (lang, topic, title, [(host, path, skin), ...])
    ("en", "cooking", "Five ways with a pot of lentils", [
        ("kitchen-notes.example", "/2024/02/five-ways-with-a-pot-of-lentils", 0),
        ("recipe-roundup.example", "/syndicated/kitchen-notes/five-ways-with-lentils", 1),
        ("weekend-digest.example", "/food/lentils-five-ways", 2),
    ]),
    ("en", "rail", "Notes from the coastal line", [
        ("slowtrains.example", "/2024/01/notes-from-the-coastal-line", 1),
        ("travel-digest.example", "/rail/notes-from-the-coastal-line", 2),
    ]),
    ("fr", "cooking", "La soupe de lentilles de tous les jours", [
        ("cuisine-du-marche.example", "/2024/02/soupe-de-lentilles", 0),
        ("agregateur-recettes.example", "/recettes/soupe-de-lentilles-du-quotidien", 2),
    ]),
]

# Pages whose charset is only named in a <meta> tag; the HTTP header says just text/html.
LEGACY_CHARSET = [  # (topic, title, encoding, skin)
    ("history", "Die alte Brauerei", "windows-1252", 0),
    ("gardening", "Äpfel, Birnen und Quitten", "iso-8859-1", 1),
    ("cooking", "Großmutters Küche", "windows-1252", 2),
]

# Article pages per language: [(topic, count)], titles are taken in order from TITLES.
ARTICLES = {
    "en": [("gardening", 7), ("rail", 6), ("cooking", 6), ("history", 7), ("astronomy", 7), ("software", 7)],
    "de": [("gardening", 3), ("rail", 2), ("cooking", 2), ("history", 2)],
    "fr": [("gardening", 2), ("rail", 2), ("cooking", 2), ("astronomy", 3)],
    "es": [("gardening", 2), ("rail", 2), ("cooking", 2), ("history", 3)],
    "zh": [("gardening", 2), ("rail", 2)],
    "it": [("cooking", 2), ("rail", 1)],
    "pt": [("gardening", 2), ("cooking", 1)],
}
WORD_RANGE = {"en": (120, 600), "zh": (150, 400)}  # zh: counted in characters / 2
DEFAULT_WORD_RANGE = (120, 320)

# A small table in some English articles (trafilatura runs with include_tables=True).
TABLES = {
    "gardening": [("Crop", "Sow", "Harvest"), ("Broad beans", "November", "June"),
                  ("Garlic", "October", "July"), ("Leeks", "April", "December"), ("Parsnips", "March", "November")],
    "rail": [("Train", "Departs", "Arrives"), ("Night sleeper", "21:52", "07:10"),
             ("Coastal stopper", "08:15", "11:40"), ("Mountain express", "09:03", "13:27")],
}

# ----------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------


def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def site_name(host: str) -> str:
    return " ".join(w.capitalize() for w in host.split(".")[0].split("-"))


def count_words(text: str, lang: str) -> int:
    return len(text) // 2 if lang == "zh" else len(text.split())


def menu_items(ui: dict, cls: str = "") -> str:
    labels = [ui["home"], *ui["topics"], ui["about"], ui["contact"]]
    hrefs = ["/", "/topics/1", "/topics/2", "/topics/3", "/topics/4", "/topics/5", "/topics/6", "/about", "/contact"]
    c = f' class="{cls}"' if cls else ""
    return "\n".join(f'      <li{c}><a href="{h}">{esc(t)}</a></li>' for h, t in zip(hrefs, labels))


def link_list(titles: list[str], tag: str = "li") -> str:
    return "\n".join(f'      <{tag}><a href="/read/{i + 1}">{esc(t)}</a></{tag}>' for i, t in enumerate(titles))


def render(skin: int, lang: str, host: str, title: str, body: str, related: list[str],
           meta_charset: str = "utf-8") -> str:
    """A whole page: `body` (the article's inner HTML) inside one of three site layouts."""
    ui = UI[lang]
    site = esc(site_name(host))
    t = esc(title)
    if skin == 0:
        return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="{meta_charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} - {site}</title>
<link rel="stylesheet" href="/assets/site.css">
</head>
<body>
<div id="cookie-banner" class="cookie-banner" role="dialog">
  <p>{esc(ui['cookie'])}</p>
  <button type="button">{esc(ui['accept'])}</button> <button type="button">{esc(ui['reject'])}</button>
</div>
<header class="site-header">
  <a class="logo" href="/">{site}</a>
  <nav class="main-nav">
    <ul>
{menu_items(ui)}
    </ul>
  </nav>
  <form class="search" action="/search"><input type="search" name="q" placeholder="{esc(ui['search'])}"></form>
</header>
<div class="page">
<main>
<article class="post">
{body}
</article>
</main>
<aside class="sidebar">
  <section class="related">
    <h3>{esc(ui['related'])}</h3>
    <ul>
{link_list(related)}
    </ul>
  </section>
  <section class="newsletter">
    <h3>{esc(ui['newsletter'])}</h3>
    <p>{esc(ui['newsletter_text'])}</p>
    <form action="/newsletter" method="post"><input type="email" name="email"> <button>{esc(ui['subscribe'])}</button></form>
  </section>
</aside>
</div>
<footer class="site-footer">
  <p>&copy; 2024 {site}. {esc(ui['rights'])}</p>
  <ul class="footer-links">
    <li><a href="/privacy">{esc(ui['privacy'])}</a></li>
    <li><a href="/imprint">{esc(ui['imprint'])}</a></li>
    <li><a href="/terms">{esc(ui['terms'])}</a></li>
  </ul>
</footer>
</body>
</html>
"""
    if skin == 1:
        return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">
<title>{site} | {t}</title>
<link rel="stylesheet" href="/wp-content/themes/simple/style.css">
</head>
<body class="single-post">
<div id="wrapper">
<div id="top-bar" class="navbar">
  <div class="brand"><a href="/">{site}</a></div>
  <ul class="menu">
{menu_items(ui, "menu-item")}
  </ul>
</div>
<div id="breadcrumbs" class="breadcrumb"><a href="/">{esc(ui['home'])}</a> &raquo; <a href="/archive">{esc(ui['archive'])}</a> &raquo; <span>{t}</span></div>
<div id="content" class="site-content">
<div class="post hentry">
<div class="entry-content">
{body}
</div>
<div class="share-buttons">{esc(ui['share'])}: <a href="/share/mail">Email</a> <a href="/share/feed">RSS</a></div>
<div class="post-tags">{esc(ui['tags'])}: <a href="/tag/1">{esc(ui['topics'][0])}</a>, <a href="/tag/2">{esc(ui['topics'][1])}</a></div>
</div>
</div>
<div id="sidebar" class="widget-area">
  <div class="widget widget-popular">
    <h4>{esc(ui['popular'])}</h4>
    <ul>
{link_list(related)}
    </ul>
  </div>
  <div class="widget widget-archive">
    <h4>{esc(ui['archive'])}</h4>
    <ul><li><a href="/2024/03">2024-03</a></li><li><a href="/2024/02">2024-02</a></li><li><a href="/2024/01">2024-01</a></li></ul>
  </div>
</div>
<div id="footer" class="footer">
  <p>{site} &middot; {esc(ui['rights'])}</p>
  <p><a href="/privacy">{esc(ui['privacy'])}</a> | <a href="/imprint">{esc(ui['imprint'])}</a> | <a href="/contact">{esc(ui['contact'])}</a></p>
</div>
<div id="cookie-notice" class="cookie-notice"><span>{esc(ui['cookie'])}</span> <a href="#" class="accept">{esc(ui['accept'])}</a></div>
</div>
</body>
</html>
"""
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="{meta_charset}">
<title>{t}</title>
<meta name="description" content="{t}">
</head>
<body>
<header role="banner">
  <div class="topline"><a href="/subscribe">{esc(ui['subscribe'])}</a> <a href="/login">{esc(ui['login'])}</a></div>
  <div class="masthead"><a href="/">{site}</a></div>
  <nav role="navigation">
    <ul class="sections">
{menu_items(ui)}
    </ul>
  </nav>
</header>
<div class="container">
<div class="main-column" role="main">
<article itemscope itemtype="https://schema.org/Article">
{body}
</article>
<section id="comments" class="comments">
  <h3>{esc(ui['comments'])}</h3>
  <p>{esc(ui['no_comments'])}</p>
</section>
</div>
<div class="rail">
  <div class="box most-read">
    <h3>{esc(ui['popular'])}</h3>
    <ol>
{link_list(related)}
    </ol>
  </div>
</div>
</div>
<footer role="contentinfo">
  <ul class="footer-nav">
    <li><a href="/about">{esc(ui['about'])}</a></li>
    <li><a href="/privacy">{esc(ui['privacy'])}</a></li>
    <li><a href="/terms">{esc(ui['terms'])}</a></li>
  </ul>
  <p>&copy; 2024 {site}</p>
</footer>
<div class="cookie-consent" data-nosnippet>
  <p>{esc(ui['cookie'])}</p>
  <button type="button">{esc(ui['accept'])}</button>
</div>
</body>
</html>
"""


def article_body(title: str, paragraphs: list[list[str]], byline: str | None = None, table=None,
                 sentence_sep: str = " ", joiner: str = " ") -> str:
    """Inner HTML of an article from paragraphs of sentences; `sentence_sep` is the source
    whitespace between sentences (it does not change the text a browser shows)."""
    parts = [f"<h1>{esc(title)}</h1>"]
    if byline:
        parts.append(f'<p class="byline">{esc(byline)}</p>')
    for i, sentences in enumerate(paragraphs):
        sep = sentence_sep if joiner == " " else joiner
        parts.append("<p>" + sep.join(esc(s) for s in sentences) + "</p>")
        if table and i == 1:
            rows = ["<table>"]
            rows.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in table[0]) + "</tr>")
            for r in table[1:]:
                rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
            rows.append("</table>")
            parts.append("\n".join(rows))
    return "\n".join(parts)


def make_paragraphs(rng: random.Random, lang: str, topic: str) -> list[list[str]]:
    """Paragraphs of 2-4 sentences drawn without repetition from one topic pool."""
    pool = list(POOLS[lang][topic])
    rng.shuffle(pool)
    lo, hi = WORD_RANGE.get(lang, DEFAULT_WORD_RANGE)
    target = rng.randint(lo, hi)
    paragraphs, current, words = [], [], 0
    size = rng.randint(2, 4)
    for sentence in pool:
        current.append(sentence)
        words += count_words(sentence, lang)
        if len(current) == size:
            paragraphs.append(current)
            current, size = [], rng.randint(2, 4)
        if words >= target:
            break
    if current:
        paragraphs.append(current)
    return paragraphs


def slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ê": "e",
                           "à": "a", "á": "a", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ç": "c",
                           "ã": "a", "â": "a", "ô": "o", "î": "i", "û": "u", "'": "-"})
    out = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower().translate(table))
    return "-".join(p for p in out.split("-") if p)


# ----------------------------------------------------------------------------------------
# Other payloads
# ----------------------------------------------------------------------------------------


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A valid RGB PNG with a simple pattern; zlib output is deterministic for fixed input."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((x * 16 + seed) % 256, (y * 16 + seed * 3) % 256, ((x ^ y) * 32) % 256))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b""))


def mpeg_ts_bytes(packets: int) -> bytes:
    """A few 188-byte MPEG transport stream packets (PAT + null packets): binary with NULs."""
    pat_section = bytes([0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xE1, 0x00])
    crc = zlib.crc32(pat_section) & 0xFFFFFFFF  # not the MPEG CRC, but the bytes only need to look right
    first = bytes([0x47, 0x40, 0x00, 0x10, 0x00]) + pat_section + struct.pack(">I", crc)
    out = bytearray(first + b"\xff" * (188 - len(first)))
    for i in range(1, packets):
        out += bytes([0x47, 0x1F, 0xFF, 0x10 | (i % 16)]) + bytes(184)
    return bytes(out)


CSS_FILES = {
    "https://kitchen-notes.example/assets/site.css": """/* kitchen-notes: main stylesheet */
:root { --ink: #222; --paper: #fffdf8; --accent: #b5542d; }
body { margin: 0; font: 17px/1.6 Georgia, serif; color: var(--ink); background: var(--paper); }
.site-header, .site-footer { padding: 1rem 2rem; background: #f3ede2; }
.main-nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
.page { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 1fr); gap: 2rem; max-width: 70rem; margin: auto; }
article h1 { font-size: 2.2rem; line-height: 1.2; color: var(--accent); }
.byline { color: #666; font-style: italic; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
.cookie-banner { position: fixed; bottom: 0; left: 0; right: 0; padding: 1rem; background: #333; color: #fff; }
@media (max-width: 50rem) { .page { grid-template-columns: 1fr; } .sidebar { display: none; } }
""",
    "https://slowtrains.example/assets/print.css": """/* slowtrains: print stylesheet, hides the site furniture */
@media print {
  #top-bar, #sidebar, #footer, .share-buttons, .cookie-notice, .breadcrumb { display: none !important; }
  body { font: 11pt/1.4 "Times New Roman", serif; color: #000; background: #fff; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 9pt; }
  table { page-break-inside: avoid; }
  h1, h2 { page-break-after: avoid; }
}
""",
}


def error_page(lang: str, title: str, text: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"><title>{esc(title)}</title></head>\n'
            f"<body>\n<h1>{esc(title)}</h1>\n<p>{esc(text)}</p>\n<p><a href=\"/\">{esc(UI[lang]['home'])}</a></p>\n"
            "</body>\n</html>\n")


# ----------------------------------------------------------------------------------------
# The plan: every page, in crawl order
# ----------------------------------------------------------------------------------------


def build_plan(seed: int = SEED) -> list[dict]:
    """Every capture of the crawl as a dict: url, case, lang, status, content_type, body (bytes),
    headers; plus `revisit_of` for revisit records. Deterministic for a given seed."""
    rng = random.Random(seed)
    pages: list[dict] = []
    titles_by_lang: dict[str, list[str]] = {}
    for (lang, _topic), ts in TITLES.items():
        titles_by_lang.setdefault(lang, []).extend(ts)

    def related(lang: str, exclude: str) -> list[str]:
        others = [t for t in titles_by_lang[lang] if t != exclude]
        return rng.sample(others, min(4, len(others)))

    def date() -> str:
        return (datetime(2023, 6, 1) + timedelta(days=rng.randint(0, 270))).strftime("%Y-%m-%d")

    def html_page(case, lang, url, text, charset="utf-8", encoding="utf-8", **extra):
        ct = "text/html" if charset is None else f"text/html; charset={charset}"
        pages.append(dict(case=case, lang=lang, url=url, status=200, content_type=ct,
                          body=text.encode(encoding), **extra))

    # ordinary articles
    for lang, topics in ARTICLES.items():
        for topic, count in topics:
            titles = [t for t in TITLES[(lang, topic)]
                      if not any(d[0] == lang and d[2] == t for d in DUPLICATES)]
            for title in titles[:count]:
                host = HOSTS[(lang, topic)]
                paragraphs = make_paragraphs(rng, lang, topic)
                skin = rng.randrange(3)
                byline = UI[lang]["byline"].format(author=rng.choice(AUTHORS[lang]), date=date())
                table = TABLES.get(topic) if lang == "en" and rng.random() < 0.4 else None
                path = f"/{date()[:7].replace('-', '/')}/{slug(title) or 'wenzhang-' + str(len(pages))}"
                body = article_body(title, paragraphs, byline, table, joiner="" if lang == "zh" else " ")
                html = render(skin, lang, host, title, body, related(lang, title))
                html_page("article", lang, f"https://{host}{path}", html, topic=topic, skin=skin)

    # German pages whose charset is only in a <meta> tag
    for topic, title, encoding, skin in LEGACY_CHARSET:
        host = HOSTS[("de", topic)]
        paragraphs = make_paragraphs(rng, "de", topic)
        byline = UI["de"]["byline"].format(author=rng.choice(AUTHORS["de"]), date=date())
        html = render(skin, "de", host, title, article_body(title, paragraphs, byline),
                      related("de", title), meta_charset=encoding)
        html_page("legacy_charset", "de", f"https://{host}/archiv/{slug(title)}.html", html,
                  charset=None, encoding=encoding, topic=topic, skin=skin)

    # exact duplicates
    for n, (lang, topic, title, copies) in enumerate(DUPLICATES):
        paragraphs = make_paragraphs(rng, lang, topic)
        byline = UI[lang]["byline"].format(author=rng.choice(AUTHORS[lang]), date=date())
        sentences = [s for p in paragraphs for s in p]
        for k, (host, path, skin) in enumerate(copies):
            if k == 0:  # the original
                body = article_body(title, paragraphs, byline)
            elif k == 1:  # other paragraph breaks, one sentence per source line
                regrouped = [sentences[i:i + 3] for i in range(0, len(sentences), 3)]
                body = article_body(title, regrouped, byline, sentence_sep="\n    ")
            else:  # an aggregator that upper-cases titles and puts two spaces after full stops
                body = article_body(title.upper(), paragraphs, byline, sentence_sep="  ")
            html = render(skin, lang, host, title if k != 2 else title.upper(), body, related(lang, title))
            html_page("duplicate", lang, f"https://{host}{path}", html, dup_group=n, topic=topic, skin=skin)

    # boilerplate only
    for lang, host, path, title, skin in BOILERPLATE_ONLY:
        html = render(skin, lang, host, title, "", [])  # no article, no reading list: only furniture
        html_page("boilerplate_only", lang, f"https://{host}{path}", html, skin=skin)

    # very short pages
    for host, path, title, text in SHORT_PAGES:
        skin = rng.randrange(3)
        html = render(skin, "en", host, title, article_body(title, [[text]]), related("en", title))
        html_page("short", "en", f"https://{host}{path}", html, skin=skin)

    # bullet-line pages
    for host, path, title, intro, items in BULLET_PAGES:
        skin = rng.randrange(3)
        body = (article_body(title, [[intro]]) + "\n<ul>\n"
                + "\n".join(f"  <li>{esc(i)}</li>" for i in items) + "\n</ul>")
        html = render(skin, "en", host, title, body, related("en", title))
        html_page("bullets", "en", f"https://{host}{path}", html, skin=skin)

    # hashtag pages
    for host, path, title, paragraphs in HASHTAG_PAGES:
        skin = rng.randrange(3)
        html = render(skin, "en", host, title, article_body(title, [[p] for p in paragraphs]), related("en", title))
        html_page("hashtags", "en", f"https://{host}{path}", html, skin=skin)

    # non-HTML responses
    for url, (w, h, s) in {"https://greenrow-allotments.example/images/plot-map.png": (24, 16, 7),
                           "https://nightsky-club.example/images/moon-phase.png": (16, 16, 91)}.items():
        pages.append(dict(case="not_html", lang=None, url=url, status=200, content_type="image/png",
                          body=png_bytes(w, h, s)))
    for url, css in CSS_FILES.items():
        pages.append(dict(case="not_html", lang=None, url=url, status=200,
                          content_type="text/css; charset=utf-8", body=css.encode("utf-8")))

    # error statuses
    pages.append(dict(case="http_404", lang="en", url="https://plainsoftware.example/2019/old-post-that-moved",
                      status=404, content_type="text/html; charset=utf-8",
                      body=error_page("en", "Page not found", "Sorry, there is nothing at this address. "
                                      "The article may have moved when the blog was rebuilt.").encode()))
    pages.append(dict(case="http_404", lang="de", url="https://bahnreise-blog.example/seite/gibt-es-nicht",
                      status=404, content_type="text/html; charset=utf-8",
                      body=error_page("de", "Seite nicht gefunden", "Unter dieser Adresse gibt es leider "
                                      "keine Seite.").encode()))
    mill = next(p["url"] for p in pages if p["case"] == "article" and p["url"].endswith("/the-mill-on-the-river"))
    for url, location in (("https://oldtown-history.example/mill", mill),
                          ("http://slowtrains.example/", "https://slowtrains.example/")):
        pages.append(dict(case="http_301", lang="en", url=url, status=301,
                          content_type="text/html; charset=utf-8", location=location,
                          body=error_page("en", "Moved Permanently",
                                          f"This page has moved to {location}.").encode()))

    rng.shuffle(pages)  # a crawl visits hosts in no particular order

    # revisits: two article pages fetched again later with an identical payload
    articles = [p for p in pages if p["case"] == "article" and p["lang"] == "en"]
    for original in rng.sample(articles, 2):
        pages.append(dict(case="revisit", lang=original["lang"], url=original["url"], status=200,
                          content_type=original["content_type"], body=b"", revisit_of=original))
    return pages


# ----------------------------------------------------------------------------------------
# WARC writing
# ----------------------------------------------------------------------------------------


def record_id(kind: str, url: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, kind + ' ' + url)}>"


def warc_date(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def ip_of(host: str) -> str:
    return f"192.0.2.{int(hashlib.sha1(host.encode()).hexdigest(), 16) % 250 + 1}"


def gzip_member(data: bytes) -> bytes:
    """One gzip member with mtime 0 and no file name: the same bytes on every run."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    member = c.compress(data) + c.flush()
    assert member[:4] == b"\x1f\x8b\x08\x00" and member[4:8] == b"\0\0\0\0", "gzip header with an mtime"
    return member


def write_warc(path: Path, pages: list[dict]) -> dict[str, int]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    counts: dict[str, int] = {}
    out = bytearray()

    def emit(record) -> None:
        buf = io.BytesIO()
        WARCWriter(buf, gzip=False).write_record(record)
        out.extend(gzip_member(buf.getvalue()))
        counts[record.rec_type] = counts.get(record.rec_type, 0) + 1

    builder = WARCWriter(io.BytesIO(), gzip=False)
    info_id = record_id("warcinfo", WARC_NAME)
    info = (f"software: corpus-curator scripts/make_sample.py\r\n"
            f"format: WARC File Format 1.0\r\n"
            f"conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
            f"description: Demo sample for corpus-curator: original pages on reserved .example hosts\r\n"
            f"isPartOf: curator-sample-2024-03\r\n"
            f"robots: checked via crawler-commons\r\n"
            f"http-header-user-agent: {USER_AGENT}\r\n").encode()
    emit(builder.create_warc_record(
        "", "warcinfo", payload=io.BytesIO(info), length=len(info), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Type": "warcinfo", "WARC-Date": warc_date(CRAWL_START),
                           "WARC-Filename": WARC_NAME, "WARC-Record-ID": info_id}))

    response_ids: dict[str, tuple[str, str, str]] = {}  # url -> (id, date, payload digest)
    for i, page in enumerate(pages):
        url, host = page["url"], page["url"].split("/")[2]
        when = CRAWL_START + timedelta(seconds=17 * (i + 1))
        common = {"WARC-Date": warc_date(when), "WARC-Warcinfo-ID": info_id, "WARC-IP-Address": ip_of(host)}
        if page["case"] == "revisit":
            rid, rdate, digest = response_ids[url]
            http = StatusAndHeaders("200 OK", [("Date", format_datetime(when, usegmt=True)), ("Server", "nginx"),
                                               ("Content-Type", page["content_type"]), ("Connection", "close")],
                                    protocol="HTTP/1.1")
            rec = builder.create_revisit_record(
                url, digest, url, rdate, http_headers=http,
                warc_headers_dict={"WARC-Type": "revisit", "WARC-Record-ID": record_id("revisit", url),
                                   **common, "WARC-Refers-To": rid})
            emit(rec)
            continue
        body = page["body"]
        status = page["status"]
        reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}[status]
        headers = [("Date", format_datetime(when, usegmt=True)), ("Server", "nginx"),
                   ("Content-Type", page["content_type"]), ("Content-Length", str(len(body)))]
        if "location" in page:
            headers.append(("Location", page["location"]))
        headers.append(("Connection", "close"))
        resp_id = record_id("response", url)
        if i % 7 != 3:  # most captures keep their request record
            target = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
            req_http = StatusAndHeaders(f"GET {target} HTTP/1.1", [
                ("Host", host), ("User-Agent", USER_AGENT),
                ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                ("Accept-Language", "en-US,en;q=0.5"), ("Accept-Encoding", "identity"), ("Connection", "close")],
                is_http_request=True)
            emit(builder.create_warc_record(
                url, "request", http_headers=req_http,
                warc_headers_dict={"WARC-Type": "request", "WARC-Record-ID": record_id("request", url),
                                   **common, "WARC-Concurrent-To": resp_id}))
        http = StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")
        rec = builder.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={"WARC-Type": "response", "WARC-Record-ID": resp_id, **common})
        response_ids[url] = (resp_id, warc_date(when), rec.rec_headers.get_header("WARC-Payload-Digest"))
        emit(rec)
        if i % 8 == 5:  # some captures carry a metadata record, as Common Crawl's do
            meta = (f"fetchTimeMs: {40 + (i * 37) % 400}\r\n"
                    f"charset-detected: {'UTF-8' if 'utf-8' in page['content_type'] else 'unknown'}\r\n"
                    f"hopsFromSeed: {'L' * (1 + i % 3)}\r\n").encode()
            emit(builder.create_warc_record(
                url, "metadata", payload=io.BytesIO(meta), length=len(meta),
                warc_content_type="application/warc-fields",
                warc_headers_dict={"WARC-Type": "metadata", "WARC-Record-ID": record_id("metadata", url),
                                   **common, "WARC-Concurrent-To": resp_id}))
    path.write_bytes(bytes(out))
    return counts


# ----------------------------------------------------------------------------------------
# The code tree
# ----------------------------------------------------------------------------------------

TEXTUTIL_PY = r'''"""Small text helpers shared by several projects: slugs and safe truncation."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    """'Broad Beans, Sown in Autumn!' -> 'broad-beans-sown-in-autumn'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "untitled"


def truncate(text: str, width: int, suffix: str = "...") -> str:
    """Cut `text` to at most `width` characters at a word boundary, ending with `suffix`."""
    if len(text) <= width:
        return text
    if width <= len(suffix):
        return suffix[:width]
    cut = text[: width - len(suffix)]
    if text[len(cut)] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + suffix


def word_count(text: str) -> int:
    return len(text.split())


if __name__ == "__main__":
    assert slugify("Broad Beans, Sown in Autumn!") == "broad-beans-sown-in-autumn"
    assert slugify("Über Straße") == "uber-strae"
    assert truncate("the quick brown fox", 12) == "the quick..."
    assert truncate("short", 12) == "short"
    print("ok")
'''

CODE_FILES: dict[str, str] = {
    "tinyhttp/README.md": r'''# tinyhttp

A very small HTTP/1.1 toolkit for learning how web servers work: a router with path
parameters, a threaded server built on the standard library, and a few text helpers.
It has no dependencies outside the Python standard library.

## Usage

```python
from tinyhttp.routing import Router
from tinyhttp.server import serve

router = Router()

@router.get("/hello/{name}")
def hello(request, name):
    return 200, {"Content-Type": "text/plain"}, f"Hello, {name}!\n"

serve(router, port=8080)
```

Handlers receive the parsed request and the path parameters as keyword arguments, and
return a `(status, headers, body)` tuple. A path that exists under another method gives
`405 Method Not Allowed`; an unknown path gives `404 Not Found`.

## Layout

- `tinyhttp/routing.py`: route table and path matching
- `tinyhttp/server.py`: request parsing and the threaded server
- `tinyhttp/textutil.py`: slugs and safe truncation
- `static/app.js`: the demo page's client script

## Tests

    python -m unittest discover -s tests

## Licence

MIT.
''',
    "tinyhttp/pyproject.toml": r'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyhttp"
version = "0.1.0"
description = "A very small HTTP/1.1 toolkit built on the standard library"
readme = "README.md"
requires-python = ">=3.9"
license = { text = "MIT" }
authors = [{ name = "Sample Author", email = "author@example.org" }]
classifiers = [
    "Programming Language :: Python :: 3",
    "License :: OSI Approved :: MIT License",
]

[project.scripts]
tinyhttp-demo = "tinyhttp.server:main"

[tool.setuptools.packages.find]
include = ["tinyhttp*"]
''',
    "tinyhttp/tinyhttp/__init__.py": '"""tinyhttp: a very small HTTP/1.1 toolkit."""\n__version__ = "0.1.0"\n',
    "tinyhttp/tinyhttp/routing.py": r'''"""Route table: methods and path patterns with {name} parameters, mapped to handlers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def compile_pattern(pattern: str) -> re.Pattern:
    """Turn '/items/{item_id}' into a regex with one named group per parameter."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts = []
    pos = 0
    for m in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        parts.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(parts) + "$")


@dataclass
class Route:
    method: str
    pattern: str
    handler: Callable
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        self.method = self.method.upper()
        self.regex = compile_pattern(self.pattern)

    def match(self, method: str, path: str) -> Optional[dict]:
        if method.upper() != self.method:
            return None
        m = self.regex.match(path)
        return m.groupdict() if m else None


class Router:
    def __init__(self):
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Callable) -> None:
        self.routes.append(Route(method, pattern, handler))

    def route(self, method: str, pattern: str):
        def decorator(handler):
            self.add(method, pattern, handler)
            return handler

        return decorator

    def get(self, pattern: str):
        return self.route("GET", pattern)

    def post(self, pattern: str):
        return self.route("POST", pattern)

    def resolve(self, method: str, path: str):
        """(handler, params) for the first matching route, (None, {}) when no route matches.

        A path that only matches under another method gives (None, None), so that the server
        can answer 405 instead of 404.
        """
        other_method = False
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route.handler, params
            if route.regex.match(path):
                other_method = True
        return None, (None if other_method else {})
''',
    "tinyhttp/tinyhttp/server.py": r'''"""A threaded HTTP/1.1 server on top of socketserver, dispatching to a Router."""

from __future__ import annotations

import socketserver
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .routing import Router

MAX_HEADER_BYTES = 16 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes = b""


def parse_request(rfile) -> Request | None:
    """Read one request from a binary file object; None when the client sent nothing."""
    line = rfile.readline(MAX_HEADER_BYTES).decode("latin-1").rstrip("\r\n")
    if not line:
        return None
    try:
        method, target, _version = line.split(" ", 2)
    except ValueError:
        raise ValueError(f"malformed request line: {line!r}") from None
    headers = {}
    total = len(line)
    while True:
        raw = rfile.readline(MAX_HEADER_BYTES)
        total += len(raw)
        if total > MAX_HEADER_BYTES:
            raise ValueError("headers too large")
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = rfile.read(length) if length > 0 else b""
    url = urlsplit(target)
    return Request(method.upper(), url.path or "/", parse_qs(url.query), headers, body)


def format_response(status: int, headers: dict, body) -> bytes:
    if isinstance(body, str):
        body = body.encode("utf-8")
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    headers = {"Content-Length": str(len(body)), "Connection": "close", **headers}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Handler(socketserver.StreamRequestHandler):
    router: Router  # set on the subclass that serve() creates

    def handle(self):
        try:
            request = parse_request(self.rfile)
        except ValueError as exc:
            self.wfile.write(format_response(400, {"Content-Type": "text/plain"}, f"{exc}\n"))
            return
        if request is None:
            return
        handler, params = self.router.resolve(request.method, request.path)
        if handler is None:
            status = 405 if params is None else 404
            self.wfile.write(format_response(status, {"Content-Type": "text/plain"}, REASONS[status] + "\n"))
            return
        try:
            status, headers, body = handler(request, **params)
        except Exception as exc:  # a broken handler must not take the server down
            status, headers, body = 500, {"Content-Type": "text/plain"}, f"error: {type(exc).__name__}\n"
        self.wfile.write(format_response(status, headers, body))


class ThreadedServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(router: Router, host: str = "127.0.0.1", port: int = 8080) -> None:
    handler = type("BoundHandler", (Handler,), {"router": router})
    with ThreadedServer((host, port), handler) as server:
        print(f"serving on http://{host}:{port}/")
        server.serve_forever()


def main() -> None:
    router = Router()

    @router.get("/")
    def index(request):
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, "tinyhttp is running\n"

    @router.get("/hello/{name}")
    def hello(request, name):
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"Hello, {name}!\n"

    serve(router)


if __name__ == "__main__":
    main()
''',
    "tinyhttp/tinyhttp/textutil.py": TEXTUTIL_PY,
    "tinyhttp/tests/test_routing.py": r'''import io
import unittest

from tinyhttp.routing import Router, compile_pattern
from tinyhttp.server import format_response, parse_request


class RoutingTests(unittest.TestCase):
    def setUp(self):
        self.router = Router()

        @self.router.get("/items/{item_id}")
        def show(request, item_id):
            return 200, {}, item_id

        @self.router.post("/items")
        def create(request):
            return 200, {}, "created"

    def test_path_parameter(self):
        handler, params = self.router.resolve("GET", "/items/42")
        self.assertEqual(params, {"item_id": "42"})
        self.assertEqual(handler(None, **params)[2], "42")

    def test_unknown_path_is_404(self):
        handler, params = self.router.resolve("GET", "/nothing")
        self.assertIsNone(handler)
        self.assertEqual(params, {})

    def test_wrong_method_is_405(self):
        handler, params = self.router.resolve("DELETE", "/items/42")
        self.assertIsNone(handler)
        self.assertIsNone(params)

    def test_pattern_escapes_literal_parts(self):
        self.assertIsNone(compile_pattern("/a.b").match("/axb"))

    def test_response_has_length(self):
        raw = format_response(200, {"Content-Type": "text/plain"}, "hi")
        self.assertIn(b"Content-Length: 2\r\n", raw)
        self.assertTrue(raw.endswith(b"\r\n\r\nhi"))

    def test_parse_request_reads_body(self):
        raw = b"POST /items?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        request = parse_request(io.BytesIO(raw))
        self.assertEqual((request.method, request.path, request.body), ("POST", "/items", b"abc"))
        self.assertEqual(request.query, {"x": ["1"]})


if __name__ == "__main__":
    unittest.main()
''',
    "tinyhttp/static/app.js": r'''// Client script for the tinyhttp demo page: polls /api/status and renders a small table.
"use strict";

const POLL_MS = 5000;

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function renderRows(items) {
  if (items.length === 0) {
    return '<tr><td colspan="3">No requests yet.</td></tr>';
  }
  return items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(item.method)}</td><td>${escapeHtml(item.path)}</td>` +
        `<td class="num">${Number(item.ms).toFixed(1)}</td></tr>`,
    )
    .join("\n");
}

async function fetchStatus(signal) {
  const response = await fetch("/api/status", { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`status request failed: ${response.status}`);
  }
  return response.json();
}

async function refresh() {
  const table = document.querySelector("#recent tbody");
  const note = document.querySelector("#note");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), POLL_MS - 500);
  try {
    const status = await fetchStatus(controller.signal);
    table.innerHTML = renderRows(status.recent || []);
    note.textContent = `Up for ${Math.round(status.uptime_s)} s, ${status.requests} requests served.`;
  } catch (err) {
    note.textContent = `Could not reach the server (${err.message}).`;
  } finally {
    clearTimeout(timer);
  }
}

if (typeof document !== "undefined") {
  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, POLL_MS);
  });
}

if (typeof module !== "undefined") {
  module.exports = { escapeHtml, renderRows };
}
''',
    "gardenlog/README.md": r'''# gardenlog

Keep a garden journal as a plain text file and let `gardenlog` summarise it.

## The journal

One entry per line: a date, an action (`sow`, `plant`, `harvest` or `note`), a crop, and
optional `bed=N` and `qty=N` fields. Everything after `#` is a comment.

```
2024-03-02 sow broad-beans bed=3 qty=40   # under fleece
2024-04-20 plant leeks bed=5 qty=60
2024-06-18 harvest broad-beans bed=3 qty=4
```

## Usage

    cargo run --release -- journal.txt
    cargo run --release -- journal.txt --bed 3

prints the entries and the harvest total per crop. `tools/summarise.py` exports the same
journal as CSV for a spreadsheet:

    python tools/summarise.py journal.txt > journal.csv

## Tests

    cargo test
''',
    "gardenlog/Cargo.toml": r'''[package]
name = "gardenlog"
version = "0.2.0"
edition = "2021"
description = "Keep a plain-text garden journal and summarise it by bed and by crop"
license = "MIT"
readme = "README.md"

[dependencies]

[[bin]]
name = "gardenlog"
path = "src/main.rs"

[profile.release]
opt-level = 3
lto = true

[lints.rust]
unsafe_code = "forbid"

[lints.clippy]
pedantic = { level = "warn", priority = -1 }
module_name_repetitions = "allow"
''',
    "gardenlog/src/journal.rs": r'''//! Parsing of journal lines such as `2024-04-02 sow broad-beans bed=3 qty=40`.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Sow,
    Plant,
    Harvest,
    Note,
}

impl Action {
    fn parse(word: &str) -> Option<Action> {
        match word {
            "sow" => Some(Action::Sow),
            "plant" => Some(Action::Plant),
            "harvest" => Some(Action::Harvest),
            "note" => Some(Action::Note),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub date: String,
    pub action: Action,
    pub crop: String,
    pub bed: Option<u32>,
    pub quantity: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

pub fn parse_line(line_no: usize, line: &str) -> Result<Option<Entry>, ParseError> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let err = |message: &str| ParseError { line: line_no, message: message.to_string() };
    let mut words = line.split_whitespace();
    let date = words.next().ok_or_else(|| err("missing date"))?;
    if !looks_like_date(date) {
        return Err(err("date must look like YYYY-MM-DD"));
    }
    let action = words
        .next()
        .and_then(Action::parse)
        .ok_or_else(|| err("action must be sow, plant, harvest or note"))?;
    let crop = words.next().ok_or_else(|| err("missing crop"))?.to_string();
    let mut entry = Entry { date: date.to_string(), action, crop, bed: None, quantity: None };
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| err("expected key=value"))?;
        let number: u32 = value.parse().map_err(|_| err("value must be a whole number"))?;
        match key {
            "bed" => entry.bed = Some(number),
            "qty" => entry.quantity = Some(number),
            _ => return Err(err("unknown key (use bed= or qty=)")),
        }
    }
    Ok(Some(entry))
}

pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(entry) = parse_line(i + 1, line)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Total harvested quantity per crop, sorted by crop name.
pub fn harvest_totals(entries: &[Entry]) -> BTreeMap<String, u32> {
    let mut totals = BTreeMap::new();
    for e in entries.iter().filter(|e| e.action == Action::Harvest) {
        *totals.entry(e.crop.clone()).or_insert(0) += e.quantity.unwrap_or(0);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_line() {
        let e = parse_line(1, "2024-04-02 sow broad-beans bed=3 qty=40").unwrap().unwrap();
        assert_eq!(e.action, Action::Sow);
        assert_eq!(e.bed, Some(3));
        assert_eq!(e.quantity, Some(40));
    }

    #[test]
    fn skips_comments_and_blank_lines() {
        assert_eq!(parse_line(1, "   # only a comment").unwrap(), None);
    }

    #[test]
    fn rejects_bad_dates() {
        assert!(parse_line(7, "April sow peas").is_err());
    }

    #[test]
    fn sums_harvests_per_crop() {
        let entries = parse("2024-06-01 harvest peas qty=2\n2024-06-08 harvest peas qty=3\n").unwrap();
        assert_eq!(harvest_totals(&entries).get("peas"), Some(&5));
    }
}
''',
    "gardenlog/src/main.rs": r'''//! gardenlog: summarise a plain-text garden journal.
//!
//! Usage: gardenlog JOURNAL.txt [--bed N]

mod journal;

use std::env;
use std::fs;
use std::process::ExitCode;

use journal::{harvest_totals, parse, Action, Entry};

struct Options {
    path: String,
    bed: Option<u32>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut path = None;
    let mut bed = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--bed" => {
                let value = args.get(i + 1).ok_or("--bed needs a number")?;
                bed = Some(value.parse().map_err(|_| format!("not a bed number: {value}"))?);
                i += 2;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other => {
                path = Some(other.to_string());
                i += 1;
            }
        }
    }
    let path = path.ok_or("usage: gardenlog JOURNAL.txt [--bed N]")?;
    Ok(Options { path, bed })
}

fn describe(entry: &Entry) -> String {
    let verb = match entry.action {
        Action::Sow => "sown",
        Action::Plant => "planted",
        Action::Harvest => "harvested",
        Action::Note => "noted",
    };
    match entry.quantity {
        Some(q) => format!("{} {} {} ({})", entry.date, entry.crop, verb, q),
        None => format!("{} {} {}", entry.date, entry.crop, verb),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let text = match fs::read_to_string(&options.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", options.path);
            return ExitCode::from(2);
        }
    };
    let entries = match parse(&text) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("{}: {e}", options.path);
            return ExitCode::FAILURE;
        }
    };
    let selected: Vec<Entry> = entries
        .into_iter()
        .filter(|e| options.bed.map_or(true, |b| e.bed == Some(b)))
        .collect();
    for entry in &selected {
        println!("{}", describe(entry));
    }
    println!();
    println!("harvest totals:");
    for (crop, total) in harvest_totals(&selected) {
        println!("  {crop:<20} {total:>6}");
    }
    ExitCode::SUCCESS
}
''',
    "gardenlog/tools/textutil.py": TEXTUTIL_PY,  # the same file as tinyhttp's: an exact duplicate
    "gardenlog/tools/summarise.py": r'''"""Export a gardenlog journal as CSV rows (date, action, crop, bed, qty) for spreadsheets."""

import csv
import sys
from collections import Counter

from textutil import slugify

ACTIONS = {"sow", "plant", "harvest", "note"}
FIELDS = ["date", "action", "crop", "bed", "qty"]


def parse_line(line):
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    words = line.split()
    if len(words) < 3 or words[1] not in ACTIONS:
        raise ValueError(f"not a journal line: {line!r}")
    row = {"date": words[0], "action": words[1], "crop": slugify(words[2]), "bed": "", "qty": ""}
    for word in words[3:]:
        key, _, value = word.partition("=")
        if key not in ("bed", "qty") or not value.isdigit():
            raise ValueError(f"bad field {word!r} in {line!r}")
        row[key] = value
    return row


def main(argv):
    if len(argv) != 2:
        print("usage: summarise.py JOURNAL.txt", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        rows = [r for r in (parse_line(line) for line in f) if r]
    writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    per_month = Counter(r["date"][:7] for r in rows)
    for month, n in sorted(per_month.items()):
        print(f"# {month}: {n} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
''',
    "railclock/README.md": r'''# railclock

Departure times for a small station: a Go package that reads a plain-text timetable and
answers "when are the next trains?", and the C routines that frame messages for the
platform display boards.

## Timetable format

```
# weekday departures
06:15 Upper Mill 1
07:42 Harbour Street 2
```

Time, destination, platform; blank lines and `#` comments are ignored. `Next` wraps past
midnight, so the first train of the morning follows the last one of the night.

## Display boards

`board/crc16.c` builds frames of the form STX, length, text, CRC-16/CCITT, ETX. Its
self-test checks the standard check value:

    cc -DCRC16_TEST -o crc16 board/crc16.c && ./crc16

## Tests

    go test ./...
''',
    "railclock/timetable.go": r'''// Package railclock reads a plain-text timetable and answers "when is the next train?".
//
// A timetable line looks like "07:42 Harbour Street 2": the time, the destination and the
// platform number, separated by spaces; the platform is the last word.
package railclock

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Departure is one train leaving the station.
type Departure struct {
	Minute      int // minutes after midnight
	Destination string
	Platform    int
}

// Clock formats the departure time as HH:MM.
func (d Departure) Clock() string {
	return fmt.Sprintf("%02d:%02d", d.Minute/60, d.Minute%60)
}

func parseClock(s string) (int, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	h, err := strconv.Atoi(parts[0])
	if err != nil || h < 0 || h > 23 {
		return 0, fmt.Errorf("bad hour in %q", s)
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil || m < 0 || m > 59 {
		return 0, fmt.Errorf("bad minute in %q", s)
	}
	return h*60 + m, nil
}

// Parse reads a timetable; blank lines and lines starting with '#' are skipped.
func Parse(r io.Reader) ([]Departure, error) {
	var out []Departure
	scanner := bufio.NewScanner(r)
	lineNo := 0
	for scanner.Scan() {
		lineNo++
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("line %d: want time, destination and platform", lineNo)
		}
		minute, err := parseClock(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		platform, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			return nil, fmt.Errorf("line %d: platform must be a number", lineNo)
		}
		out = append(out, Departure{
			Minute:      minute,
			Destination: strings.Join(fields[1:len(fields)-1], " "),
			Platform:    platform,
		})
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Minute < out[j].Minute })
	return out, nil
}

// Next returns up to n departures at or after the given minute, wrapping past midnight.
func Next(deps []Departure, minute, n int) []Departure {
	if len(deps) == 0 || n <= 0 {
		return nil
	}
	start := sort.Search(len(deps), func(i int) bool { return deps[i].Minute >= minute })
	var out []Departure
	for k := 0; k < len(deps) && len(out) < n; k++ {
		out = append(out, deps[(start+k)%len(deps)])
	}
	return out
}
''',
    "railclock/timetable_test.go": r'''package railclock

import (
	"strings"
	"testing"
)

const sample = `# weekday departures
07:42 Harbour Street 2
06:15 Upper Mill 1
23:50 Night Service Central 3
`

func TestParseSortsByTime(t *testing.T) {
	deps, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 3 {
		t.Fatalf("got %d departures, want 3", len(deps))
	}
	if deps[0].Clock() != "06:15" || deps[0].Destination != "Upper Mill" {
		t.Errorf("first departure = %+v", deps[0])
	}
	if deps[2].Platform != 3 {
		t.Errorf("last platform = %d, want 3", deps[2].Platform)
	}
}

func TestNextWrapsPastMidnight(t *testing.T) {
	deps, _ := Parse(strings.NewReader(sample))
	got := Next(deps, 23*60+55, 2)
	if len(got) != 2 || got[0].Clock() != "06:15" || got[1].Clock() != "07:42" {
		t.Errorf("Next after 23:55 = %+v", got)
	}
}

func TestParseRejectsBadTime(t *testing.T) {
	if _, err := Parse(strings.NewReader("25:00 Nowhere 1\n")); err == nil {
		t.Error("expected an error for hour 25")
	}
}
''',
    "railclock/board/crc16.h": r'''#ifndef RAILCLOCK_CRC16_H
#define RAILCLOCK_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_STX 0x02
#define FRAME_ETX 0x03
#define FRAME_MAX_PAYLOAD 64

/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection. */
uint16_t crc16_ccitt(const uint8_t *data, size_t len);

/* Writes a frame for `text` into `out`; returns its length, or -1 if it does not fit. */
int frame_build(const char *text, uint8_t *out, size_t out_size);

/* 1 when `frame` is well formed and its CRC matches, else 0. */
int frame_check(const uint8_t *frame, size_t size);

#endif
''',
    "railclock/board/crc16.c": r'''/* CRC-16/CCITT-FALSE and frame building for the platform departure boards.
 *
 * A frame is: STX, length (1 byte), payload, CRC high byte, CRC low byte, ETX.
 * Build and run the self-test with:  cc -DCRC16_TEST -o crc16 crc16.c && ./crc16
 */
#include "crc16.h"

#include <stdio.h>
#include <string.h>

uint16_t crc16_ccitt(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            if (crc & 0x8000)
                crc = (uint16_t)((crc << 1) ^ 0x1021);
            else
                crc = (uint16_t)(crc << 1);
        }
    }
    return crc;
}

int frame_build(const char *text, uint8_t *out, size_t out_size)
{
    size_t len = strlen(text);
    if (len > FRAME_MAX_PAYLOAD || out_size < len + 5)
        return -1;
    out[0] = FRAME_STX;
    out[1] = (uint8_t)len;
    memcpy(out + 2, text, len);
    uint16_t crc = crc16_ccitt((const uint8_t *)text, len);
    out[2 + len] = (uint8_t)(crc >> 8);
    out[3 + len] = (uint8_t)(crc & 0xFF);
    out[4 + len] = FRAME_ETX;
    return (int)(len + 5);
}

int frame_check(const uint8_t *frame, size_t size)
{
    if (size < 5 || frame[0] != FRAME_STX || frame[size - 1] != FRAME_ETX)
        return 0;
    size_t len = frame[1];
    if (len + 5 != size)
        return 0;
    uint16_t crc = crc16_ccitt(frame + 2, len);
    return frame[2 + len] == (crc >> 8) && frame[3 + len] == (crc & 0xFF);
}

#ifdef CRC16_TEST
int main(void)
{
    /* the published check value of CRC-16/CCITT-FALSE */
    const char *check = "123456789";
    uint16_t crc = crc16_ccitt((const uint8_t *)check, strlen(check));
    if (crc != 0x29B1) {
        fprintf(stderr, "crc16 check failed: %04X\n", crc);
        return 1;
    }
    uint8_t frame[FRAME_MAX_PAYLOAD + 5];
    int n = frame_build("07:42 HARBOUR ST   2", frame, sizeof frame);
    if (n < 0 || !frame_check(frame, (size_t)n)) {
        fprintf(stderr, "frame round trip failed\n");
        return 1;
    }
    frame[3] ^= 0x01;
    if (frame_check(frame, (size_t)n)) {
        fprintf(stderr, "corrupted frame was accepted\n");
        return 1;
    }
    printf("ok (%d byte frame)\n", n);
    return 0;
}
#endif
''',
}

BINARY_FILES: dict[str, bytes] = {
    # a real PNG: no known source extension
    "tinyhttp/static/logo.png": png_bytes(32, 32, 5),
    # a video segment that happens to share TypeScript's extension: binary content (NUL bytes)
    "tinyhttp/static/intro.ts": mpeg_ts_bytes(4),
}


def write_code(root: Path) -> int:
    if root.exists():
        shutil.rmtree(root)
    files = {**{k: v.encode("utf-8") for k, v in CODE_FILES.items()}, **BINARY_FILES}
    for rel, data in sorted(files.items()):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return len(files)


EVALSET_NAME = "demo_trivia.jsonl"


def write_evalset(out: Path) -> int:
    """A small eval set for the demo's `decontaminate` stage, in curator/evalsets.py's schema:
    questions quoting gardening sentences that the sample's pages also hold (a leaked
    benchmark), questions found nowhere in the sample, and a multiple-choice item too short to
    be matched on its own."""
    garden = EN["gardening"]
    items = [{"question": f"True or false: {s}", "answer": "True"} for s in garden[:4]]
    items += [
        {"question": "Which instrument did the lighthouse keeper of the northern island repair every winter "
                     "before the first storms arrived from the west?", "answer": "The fog horn"},
        {"question": "In the story, how many loaves did the baker leave on the windowsill of the station "
                     "master's house on the morning of the flood?", "answer": "Seven"},
        {"question": "Read the passage and answer: what colour was the boat?",
         "passage": "The ferry that crossed the estuary twice a day was painted a faded green, and the "
                    "children of the village called it the old cucumber long after it was repainted.",
         "answer": "Green"},
        {"question": "Which is a vegetable?", "choices": ["leek", "granite", "copper"], "answer": "leek"},
    ]
    out.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"benchmark": "demo_trivia", "split": "test", "id": str(i), "passage": None, "choices": None,
                         **it}, ensure_ascii=False, sort_keys=True) for i, it in enumerate(items)]
    (out / EVALSET_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(items)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="manifests/sample", help="output folder (default: manifests/sample)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = build_plan()
    urls = [p["url"] for p in plan if p["case"] != "revisit"]
    assert len(urls) == len(set(urls)), "duplicate URL in the plan"
    counts = write_warc(out / WARC_NAME, plan)
    n_files = write_code(out / "code")
    cases: dict[str, int] = {}
    for p in plan:
        key = p["case"] if p["case"] != "article" else f"article.{p['lang']}"
        cases[key] = cases.get(key, 0) + 1
    size = (out / WARC_NAME).stat().st_size
    print(f"{out / WARC_NAME}: {sum(counts.values())} records ({size} bytes): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("pages: " + ", ".join(f"{k} {v}" for k, v in sorted(cases.items())))
    print(f"{out / 'code'}: {n_files} files")
    print(f"{out / 'evalsets'}: {write_evalset(out / 'evalsets')} eval items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
