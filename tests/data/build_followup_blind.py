"""Build and validate tests/data/followup_questions_blind.jsonl.

Follow-up pairs written blind (without looking at the retrieval/bot code).
SQuAD pairs: first = an answerable SQuAD 2.0 dev question kept verbatim;
followup = a second answerable question of the same paragraph, rewritten as
a chat follow-up; answers = that question's SQuAD answers (short variants).
Seeds pairs: written from /work/main/seeds/*.txt, gold copied verbatim.

Run: python3 tests/data/build_followup_blind.py
"""

import glob
import json
import os
import sys
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SQUAD = "/work/shared/data/squad-v2.0-dev.json"
OUT = os.path.join(ROOT, "tests", "data", "followup_questions_blind.jsonl")
ALLOWED_ARTICLES = {
    "Packet_switching",
    "University_of_Chicago",
    "Yuan_dynasty",
    "Immune_system",
    "Intergovernmental_Panel_on_Climate_Change",
    "Prime_number",
    "Rhine",
    "Scottish_Parliament",
    "Islamism",
    "Imperialism",
    "Warsaw",
    "French_and_Indian_War",
    "Force",
}

# (first SQuAD id, second SQuAD id, follow-up text, gold answers)
SQUAD_PAIRS = [
    # Packet_switching
    (
        "5726378238643c19005ad313",
        "5726378238643c19005ad314",
        "What did he call it?",
        ["packet switching"],
    ),
    (
        "5726472bdd62a815002e8044",
        "5726472bdd62a815002e8043",
        "Who did they partner with to build it?",
        ["Qwest"],
    ),
    (
        "572648d1708984140094c15f",
        "572648d1708984140094c160",
        "By 1998, how many universities did it connect?",
        ["more than 100 universities", "100"],
    ),
    # University_of_Chicago
    (
        "57283f014b864d19001647ea",
        "57283f014b864d19001647eb",
        "What year did he take the job?",
        ["1891"],
    ),
    (
        "57284456ff5b5019007da05c",
        "57284456ff5b5019007da05f",
        "Why did he get rid of the football program?",
        ["to emphasize academics over athletics", "emphasize academics"],
    ),
    (
        "572849b4ff5b5019007da0f3",
        "572849b4ff5b5019007da0f4",
        "Roughly how much does it cost?",
        ["$200 million", "around $200 million"],
    ),
    # Yuan_dynasty
    (
        "57285ed5ff5b5019007da1b8",
        "57285ed5ff5b5019007da1ba",
        "When did he formally declare it?",
        ["1271"],
    ),
    (
        "57286b003acd2414000df9c1",
        "57286b003acd2414000df9c2",
        "Where did he move it to?",
        ["Khanbaliq"],
    ),
    (
        "57286fa83acd2414000df9e5",
        "57286fa83acd2414000df9e7",
        "Who did he appoint as grand chancellor?",
        ["Baiju"],
    ),
    # Immune_system
    (
        "5728f3724b864d1900165116",
        "5728f3724b864d1900165117",
        "What did he prove was the cause of infectious disease?",
        ["microorganisms"],
    ),
    (
        "572900f73f37b31900477f69",
        "572900f73f37b31900477f6a",
        "What causes its symptoms?",
        ["increased blood flow into tissue"],
    ),
    (
        "5729fefbaf94a219006aa73d",
        "5729fefbaf94a219006aa73c",
        "And in developed countries?",
        ["obesity, alcoholism, and drug use"],
    ),
    # Intergovernmental_Panel_on_Climate_Change
    ("57293bc91d0469140077919b", "57293bc91d0469140077919c", "What nationality is he?", ["Korean"]),
    (
        "57293e983f37b3190047818b",
        "57293e983f37b3190047818c",
        "How many organizations issued it?",
        ["16 national science academies", "16"],
    ),
    (
        "57293f353f37b3190047819b",
        "57293f353f37b3190047819d",
        "Who responded to his criticisms?",
        ["John Houghton"],
    ),
    # Prime_number
    ("572970c11d04691400779463", "572970c11d04691400779464", "Who demonstrated that?", ["Euclid"]),
    (
        "57297547af94a219006aa45c",
        "57297547af94a219006aa45d",
        "Who disagreed with him?",
        ["Leonhard Euler"],
    ),
    (
        "572998673f37b319004784d5",
        "572998673f37b319004784d6",
        "Where do they spend most of their lives?",
        ["underground", "as grubs underground"],
    ),
    # Rhine
    (
        "572f567cb2c2fd140056803f",
        "572f567cb2c2fd1400568040",
        "When was that scale introduced?",
        ["1939"],
    ),
    ("57300a25a23a5019007fcc99", "57300a25a23a5019007fcc9a", "In what year?", ["1806"]),
    (
        "57300c67947a6a140053cff0",
        "57300c67947a6a140053cff2",
        "What was it changed to in 1932?",
        ["1,320 kilometres", "1,320 kilometres (820 miles)"],
    ),
    # Scottish_Parliament
    (
        "572fadcbb2c2fd1400568329",
        "572fadcbb2c2fd140056832c",
        "What percentage of the vote was in favour of it?",
        ["51.6%"],
    ),
    (
        "572faec7b2c2fd1400568334",
        "572faec7b2c2fd1400568337",
        "Who opened it?",
        ["Queen Elizabeth II"],
    ),
    (
        "572fd8efb2c2fd14005684f9",
        "572fd8efb2c2fd14005684fc",
        "And how many electors does an average constituency have?",
        ["55,000"],
    ),
    # Islamism
    (
        "572ffee1947a6a140053cf15",
        "572ffee1947a6a140053cf18",
        "What book were his seven lectures published as?",
        ["The Reconstruction of Religious Thought in Islam"],
    ),
    ("5730285a04bcaa1900d7726d", "5730285a04bcaa1900d7726f", "When was it founded?", ["1989"]),
    (
        "57302ad804bcaa1900d772af",
        "57302ad804bcaa1900d772b0",
        "What had the ousted prime minister announced he would ban?",
        ["alcohol and nightclubs"],
    ),
    # Imperialism
    (
        "5730b541396df919000962c2",
        "5730b541396df919000962c3",
        "When was its growth reversed by the loss of its colonies?",
        ["1776"],
    ),
    (
        "5730b8ca8ab72b1400f9c704",
        "5730b8ca8ab72b1400f9c708",
        "What did he come to be known as?",
        ["Wilson's geographer"],
    ),
    (
        "5730bc308ab72b1400f9c73d",
        "5730bc308ab72b1400f9c73e",
        "How many provinces did it have at the start of the 17th century?",
        ["32"],
    ),
    # Warsaw
    (
        "5732b6b5328d981900602021",
        "5732b6b5328d981900602024",
        "How many residents does its greater metropolitan area have?",
        ["2.666 million"],
    ),
    (
        "57332e48d058e614000b5764",
        "57332e48d058e614000b5765",
        "How many days did it last?",
        ["63 days", "63"],
    ),
    (
        "5733a5f54776f41900660f44",
        "5733a5f54776f41900660f45",
        "What was she the first female recipient of?",
        ["Nobel Prize"],
    ),
    # French_and_Indian_War
    (
        "573403394776f419006616dd",
        "573403394776f419006616de",
        "And how many troops did they defeat?",
        ["18,000"],
    ),
    (
        "573406d1d058e614000b6801",
        "573406d1d058e614000b6803",
        "Which battle outside that city did his side lose in 1760?",
        ["Battle of Sainte-Foy", "Sainte-Foy"],
    ),
    (
        "57340b1bd058e614000b6869",
        "57340b1bd058e614000b686b",
        "What lands did it reserve for the natives?",
        ["lands west of the Appalachian Mountains", "west of the Appalachian Mountains"],
    ),
    # Force
    (
        "57373d0cc3c5551400e51e85",
        "57373d0cc3c5551400e51e87",
        "How many elements did he believe the terrestrial sphere contained?",
        ["four"],
    ),
    ("57373a9fc3c5551400e51e7d", "57373a9fc3c5551400e51e7e", "And the weakest?", ["gravitational"]),
    (
        "57379829c3c5551400e51f3d",
        "57379829c3c5551400e51f3e",
        "What is its most familiar effect?",
        ["beta decay"],
    ),
    (
        "5737aafd1c456719005744ff",
        "5737aafd1c456719005744fe",
        "And the one equal to 1000 pounds of force?",
        ["kip"],
    ),
]

# (first, follow-up, gold answers)
SEEDS_PAIRS = [
    # 000
    (
        "Who is Amnesty's research director for the Mideast?",
        "How many attacks did her organisation document in the period covered by its report?",
        ["45 attacks"],
    ),
    (
        "When did US-backed Iraqi forces launch the operation to retake Mosul?",
        "In recent days, into how small an area had they confined the remaining militants?",
        ["less than a square kilometer"],
    ),
    # 001
    (
        'When did Haider al-Abadi declare "total victory" in Mosul?',
        "How long had the battle lasted by then?",
        ["nearly nine-month-long", "nine-month"],
    ),
    (
        "How many civilians died in the March 17 air strike cited by Amnesty?",
        "What was it targeting?",
        ["two IS snipers"],
    ),
    (
        "What did Amnesty International call for to investigate crimes against civilians in Mosul?",
        "And what did it recommend the authorities set up for civilians?",
        ["a compensation programme", "compensation programme"],
    ),
    # 002
    (
        "How many ISIL fighters did Gen Al Assadi estimate were left in Mosul?",
        "Who were most of them?",
        ["foreigners"],
    ),
    (
        "When did the SDF break into Raqqa?",
        "About how many militants are fighting in the city?",
        ["Around 2,500", "2,500"],
    ),
    (
        "Who heads the Syrian Observatory for Human Rights?",
        "How many towns and villages did he say the militants withdrew from?",
        ["17 towns and villages", "17"],
    ),
    # 003
    (
        "Who opened the France-held meeting on Mosul?",
        "How many countries were represented at it?",
        ["23 countries", "23"],
    ),
    (
        "Which Iraqi Defense Ministry spokesman told CNN that units of the 9th Armored Division "
        "had entered Mosul?",
        "Which neighbourhood did he say the troops had stormed?",
        ["al Intisar"],
    ),
    # 004
    (
        "How many ISIS militants did Colonel Dorrian estimate were left in Mosul?",
        "And how many were there when the offensive was launched?",
        ["some 6,000", "at least some 6,000"],
    ),
    (
        "Which influential Shia cleric has long criticised the presence of US troops in Iraq?",
        "What has he gone so far as to describe them as?",
        # the seed article runs "target" into "for": the gold holds the words it prints
        ["a potential target", "a potential targetfor"],
    ),
]


def main():
    errors, warnings = [], []
    squad = json.loads(Path(SQUAD).read_text(encoding="utf-8"))
    index = {}  # qid -> (article, paragraph index, context, qa)
    for art in squad["data"]:
        for pi, p in enumerate(art["paragraphs"]):
            for qa in p["qas"]:
                index[qa["id"]] = (art["title"], pi, p["context"], qa)

    rows = []
    for n, (q1, q2, followup, answers) in enumerate(SQUAD_PAIRS, 1):
        rid = f"bq{n:02d}"
        if q1 not in index or q2 not in index:
            errors.append(f"{rid}: unknown SQuAD id")
            continue
        a1, p1, ctx, qa1 = index[q1]
        a2, p2, _, qa2 = index[q2]
        if (a1, p1) != (a2, p2):
            errors.append(f"{rid}: questions not from the same paragraph")
        if a1 not in ALLOWED_ARTICLES:
            errors.append(f"{rid}: article {a1} not allowed")
        if qa1["is_impossible"] or qa2["is_impossible"]:
            errors.append(f"{rid}: impossible question used")
        squad_golds = {a["text"].strip().lower() for a in qa2["answers"]}
        for g in answers:
            if g.lower() not in ctx.lower():
                errors.append(f"{rid}: gold {g!r} not in paragraph")
            if g.lower() not in squad_golds:
                warnings.append(f"{rid}: gold {g!r} is not one of the SQuAD answers")
        rows.append(
            {
                "id": rid,
                "corpus": "squad",
                "first": qa1["question"].strip(),
                "followup": followup,
                "answers": answers,
                "squad_ids": [q1, q2],
                "article": a1,
                "rewritten_from": qa2["question"].strip(),
            }
        )

    seed_texts = [
        Path(f).read_text(encoding="utf-8").lower()
        for f in sorted(glob.glob(os.path.join(ROOT, "seeds", "*.txt")))
    ]
    if not seed_texts:
        errors.append("no seeds found")
    for n, (first, followup, answers) in enumerate(SEEDS_PAIRS, 1):
        rid = f"bs{n:02d}"
        for g in answers:
            if not any(g.lower() in t for t in seed_texts):
                errors.append(f"{rid}: gold {g!r} not in any seeds article")
        rows.append(
            {"id": rid, "corpus": "seeds", "first": first, "followup": followup, "answers": answers}
        )

    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    for r in rows:
        if not (1 <= len(r["answers"]) <= 3):
            errors.append("{}: needs 1-3 answers".format(r["id"]))
        if r["first"].strip().lower() == r["followup"].strip().lower():
            errors.append("{}: followup equals first".format(r["id"]))

    with open(OUT, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    # re-read: valid JSON per line, exact key sets
    squad_keys = {
        "id",
        "corpus",
        "first",
        "followup",
        "answers",
        "squad_ids",
        "article",
        "rewritten_from",
    }
    seeds_keys = {"id", "corpus", "first", "followup", "answers"}
    with open(OUT, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            obj = json.loads(line)
            want = squad_keys if obj["corpus"] == "squad" else seeds_keys
            if set(obj) != want:
                errors.append(f"line {ln}: keys {sorted(obj)}")

    for w in warnings:
        print("WARN", w)
    for e in errors:
        print("ERROR", e)
    n_sq = sum(r["corpus"] == "squad" for r in rows)
    print(f"wrote {len(rows)} pairs ({n_sq} squad, {len(rows) - n_sq} seeds) to {OUT}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
