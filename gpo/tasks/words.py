"""A table of common English words that synthetic tasks draw from."""

from __future__ import annotations

WORDS: tuple[str, ...] = tuple(
    sorted(
        set(
            """
            able about above accept across action active actor adapt admire adult advice
            afford afraid after again agent agree ahead alarm album alert alike alive allow
            almost alone along amount anchor angle animal ankle answer anyone apart appear
            apple april arch argue arise armor army arrow artist aspect assume attach attic
            august author autumn avoid awake aware badge baker balance bamboo banner barrel
            basket battle beach beard beauty become before begin behave belief bench berry
            beyond bicycle bitter blade blanket blossom board bonus border borrow bottle bounce
            branch brave bread breeze brick bridge bright broken bronze brother bubble bucket
            budget buffalo bundle burden butter button cabin cable cactus camera canal candle
            canvas canyon carbon carpet carrot castle casual cattle caught ceiling celery cement
            census cereal chalk chamber change chapter charge cheese cherry chest chicken
            chimney choice circle citizen claim clever cliff climate clock cloth cloud clumsy
            coast cocoa coffee collar colony column comedy common copper coral corner cotton
            couch country cousin cradle craft crater credit crisp crowd crystal culture cupboard
            curtain cushion custom cycle dagger damage dance danger daring dawn debate decade
            decide deliver demand dentist desert design detail device diamond diary dinner
            direct divide doctor dolphin donkey double dragon drawer dream drift during eager
            eagle early earth easily echo edge effort eight elbow elder elegant element
            elephant embark empty energy engine enjoy enough entry equal erosion escape estate
            evening event evolve exact exhibit exile expand expert fabric factor faint fairy
            falcon family famous fancy farmer fashion father feather fence ferry fiction field
            figure filter final finger fiscal flame flavor fleet flight flower fluid focus
            forest fossil fountain fragile frame fresh friend frost frozen fruit funnel furnace
            gadget galaxy garage garden garlic gather gentle giant ginger glacier glance global
            glove golden gospel govern grain grape gravel gravity harbor harvest hazard health
            heavy helmet hidden hockey hollow honey horizon hostile hunger hurdle husband ignore
            image impact income indoor infant inform injury insect inside island ivory jacket
            jaguar jelly jewel journey judge juggle jungle junior kettle kidney kitchen kitten
            ladder lagoon lantern laptop laundry lawyer layer leader legend lemon lesson letter
            lever liberty library lizard lobster locket lonely lumber lunar machine magnet
            maple marble market meadow melody memory mentor mercy method middle mirror mixture
            modest moment monkey morning mosaic mother motion muffin muscle museum mystery
            napkin narrow nation native needle nephew nickel noble normal notice number nutmeg
            oasis object occur ocean office olive onion opera option orange orbit orchard
            organ orphan outdoor oxygen oyster paddle palace panel panther parade parcel parrot
            pasta patrol pebble pencil pepper permit pigeon pillow pistol planet plastic
            pledge pocket poetry polar pony portion potato powder prairie praise prefer
            prison profit prompt proud public puddle pumpkin puppet purple puzzle pyramid
            quarter quartz query quiet quilt quota rabbit radar raisin random rapid raven
            razor reason recipe record reform regret relief remote rescue retire reward rhythm
            ribbon riddle rifle ripple river robin rocket rubber saddle salmon sample sandal
            satin scarf scatter scheme school scissors season second secret select senior
            shadow shallow shelter shield shiver shrimp signal silent silver simple sister
            sketch slender slogan smooth snake soccer socket soldier sorrow spider spinach
            sponge spring square squirrel stable stadium statue steel stereo stomach stumble
            sugar summer sunset supply surface swamp symbol syrup tablet tackle talent teapot
            temple tenant tennis thistle thunder ticket timber tissue toddler tomato tongue
            topic tornado tower tractor tragic travel treaty tribe trophy tumble tunnel turkey
            turtle twelve twilight umbrella uncle unfold unique update upper urban useful
            utility vacuum valley vanilla velvet vendor venture verbal vessel victory village
            vintage violin virtue visual vivid volcano voyage wagon walnut walrus wander
            warrior weasel weather wedding whisper widow window winter wisdom wizard wonder
            worry wrist yellow yogurt young zebra zero zipper zone
            """.split()
        )
    )
)
"""Common English words that synthetic tasks draw from (lowercase, a-z only, no repeats)."""
