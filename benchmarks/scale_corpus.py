"""Large synthetic corpora for the scale benchmark, made from real sentences.

Real text runs out early: SQuAD 2.0 dev (``../shared/data/squad-v2.0-dev.json``, 35 articles,
1,204 paragraphs) and the five articles of ``seeds/`` hold about 6,000 distinct sentences,
while the scale benchmark needs 10k, 100k and 1M. Past that point this module *recombines*
the real sentences into new articles, with their names and numbers changed so that no two
sentences of a generated corpus are equal (an index of a million copies of six thousand
sentences would measure deduplication, not scale).

Method
------
1. ``real_sentences()``: every sentence of the SQuAD contexts and of the seed articles (only
   the spans that ``retrieval.read.cleaning.clean`` keeps, so site boilerplate is left out), split
   with ``sentencex.segment("en", ...)``, stripped, de-duplicated (first occurrence wins) and
   kept when it is 20..400 characters long and reads as a sentence (at least 4 words, ending
   in ``. ! ?`` or ``…``, possibly followed by a closing quote or bracket).
2. Each real sentence becomes a *template*: every maximal digit run is a number slot, and every
   capitalised word ``[A-Z][a-z]{2,}`` that is not the sentence's first word and that the
   corpus uses as a name is a name slot. "Used as a name" means it appears capitalised in
   mid-sentence more often than it appears in lower case, and is not a month, weekday or
   honorific: ``Chicago`` and ``Rhine`` are names, ``State`` (from "the state") and ``The``
   are not, so "the Islamic State" becomes, say, "the Abilene State". Repeats of the same name or
   number within a sentence share a slot, so "Smith ... Smith" stays one person.
3. Slots are filled from pools: a name slot from the corpus's own names (3,374 words, so
   the text keeps its look), a number slot with a number of the same length
   (years 1000..2099 become years 1000..2029, runs with a leading zero keep one possible). The
   first word of a sentence is never changed; nor are acronyms (``US``), words with accents
   or inner capitals (``McDonald``), or ordinary words.
4. Articles: ``generate`` makes articles of ``sentences_per_article`` sentences (the last one
   shorter, so the total is exactly ``n_sentences``). Each article takes a source (a SQuAD
   article or a seed, weighted by its number of sentences) and draws ``TOPICAL_SHARE`` of its
   sentences from that source and the rest from anywhere, so articles have topics and many
   articles share one, as in a real news collection. The text is a title line, a blank line,
   then paragraphs of 1..5 sentences (one line each) separated by blank lines.

Uniqueness is structural, so it needs no set of the sentences emitted: two templates that
differ in their fixed text (everything but the slots) can never render the same string,
because the slots are recognised the same way in the output (fills are words of the same
class as what they replace, and their neighbours are unchanged). Within one template, its k-th
use renders slot-value tuple number ``(a*k + b) mod M`` (``M`` = product of the pool sizes,
``a`` coprime with ``M``, ``a`` and ``b`` drawn per template): a permutation, so no tuple comes
twice. A template with no slot (1,984 of the 6,119) is used once, verbatim: real text where
it exists. A template whose ``M`` uses are spent is not drawn again. Memory is a few integers
per template, whatever ``n_sentences`` is. Titles (``"<topic>: <Name> <Name> report <n>"``)
are unique through their article number.

Knobs: ``seed`` (everything is a function of it; the same seed and code give byte-identical
output), ``sentences_per_article`` (30), ``TOPICAL_SHARE`` (0.75), ``MAX_PARAGRAPH`` (5).

Limits
------
- The sentences are real and grammatical, but the recombined articles are not coherent
  narratives, and swapped names can read oddly (a person named like a river, "September
  86"). Beyond the first few thousand sentences, nearly every sentence is altered. Right
  for measuring cost and retrieval at scale; not for judging answer quality.
- ``sentence_count`` counts the sentences put in (``GeneratedArticle.sentences``). An index
  of the corpus holds a few more: ``retrieval.split.segment`` also indexes each title line (one
  more sentence per article, +3.3% at 30 a article), and, cutting paragraphs rather than
  single sentences, it merges or splits a few (10,000 sentences put in gave 9,987 body
  sentences plus 334 titles).
- Uniqueness is exact string equality of the sentences put in; near-duplicates (one name
  apart) are common by design, as they are in real news.
- The capacity is large (over 10^12 distinct sentences) but finite; ``generate`` raises
  ``ValueError`` if it is ever exhausted.

Stand-in vectors: encoding a million sentences for real takes hours on CPU, so the largest
size can use ``standin_vectors``: each vector is a normalised random mixture of three real
sentence vectors plus a little Gaussian noise. Random Gaussian vectors would be the wrong
stand-in: in 384 dimensions they are all nearly orthogonal, with no neighbourhoods, so an
approximate index (HNSW) would show recall and speed that real text never gives. Mixtures of
real vectors keep the real clusters, topics and density.

Speed (a 2-core machine, Python 3.11; ``python -m benchmarks.scale_corpus 1000000
[--out DIR|FILE.jsonl]``): generating 1M sentences (33,334 articles) takes about 6 s,
writing them as files about 10 s (255 MB in 34 folders) and as JSONL about 7.5 s (161 MB),
each with a peak RSS of 64 MB. ``standin_vectors(1_000_000, base)`` with 384 dimensions takes
about 8 s and 1.6 GB, the 1.5 GB result included.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad-v2.0-dev.json"
SEEDS = REPO / "seeds"

MIN_CHARS = 20
MAX_CHARS = 400
MIN_WORDS = 4
#: Share of an article's sentences drawn from its source article (the rest: from anywhere).
TOPICAL_SHARE = 0.75
#: Sentences per paragraph: 1..MAX_PARAGRAPH.
MAX_PARAGRAPH = 5
#: Files per subfolder in ``write_corpus``.
FILES_PER_FOLDER = 1000
#: Rows per chunk in ``standin_vectors`` (bounds the temporary memory).
STANDIN_CHUNK = 16_384
#: Noise of the stand-in vectors: per-component sigma is this over sqrt(dim).
STANDIN_NOISE = 0.05

_NAME = re.compile(r"(?<!\w)[A-Z][a-z]{2,}(?!\w)")
_SLOT = re.compile(r"(?P<name>(?<!\w)[A-Z][a-z]{2,}(?!\w))|(?P<number>[0-9]+)")
_LOWER_WORD = re.compile(r"(?<!\w)[a-z]{3,}(?!\w)")
_WORD = re.compile(r"\w")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’»)\]]*$""")
# Capitalised words that are not names (beyond what the corpus's own usage tells).
_NOT_NAMES_TEXT = """
January February March April May June July August September October November December
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mrs Miss Sir Madam Lord Lady Prof
The This That These Those
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


@dataclass(frozen=True)
class GeneratedArticle:
    """One synthetic article: ``text`` is the title line, a blank line, then paragraphs.

    ``sentences`` are the sentences put in, in order (``sentence_count`` of them): the
    project's segmenter may cut ``text`` slightly differently.
    """

    id: str
    title: str
    text: str
    sentence_count: int
    sentences: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class _Source:
    topic: str
    sentences: tuple[str, ...]


@dataclass
class _Template:
    """A real sentence with its names and numbers as slots.

    ``fmt`` is a ``str.format`` pattern (``{0}`` ... one per distinct slot value); ``pools``
    says for each slot what fills it: ``None`` for a name, else ``(low, width)`` for numbers
    ``low .. low + size - 1`` zero-padded to ``width``; ``sizes`` are the pool sizes.
    """

    fmt: str
    pools: tuple[tuple[int, int] | None, ...]
    sizes: tuple[int, ...]
    capacity: int
    a: int = 1
    b: int = 0
    used: int = 0


# -- the real text ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _sources() -> tuple[_Source, ...]:
    """The real articles as (topic, sentences): SQuAD dev articles, then the seeds."""
    import sentencex

    def split(text: str) -> list[str]:
        return [s.strip() for s in sentencex.segment("en", text) if s.strip()]

    sources = []
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    for article in data:
        sentences = [s for p in article["paragraphs"] for s in split(p["context"])]
        sources.append(_Source(article["title"].replace("_", " "), tuple(sentences)))
    from retrieval.read.cleaning import clean

    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        cleaned = clean(text)
        sentences = [s for span in cleaned.indexable for s in split(text[span.start : span.end])]
        topic = cleaned.title or text.strip().split("\n", 1)[0]
        sources.append(_Source(topic.strip(), tuple(sentences)))
    return tuple(sources)


def _keep(sentence: str) -> bool:
    return (
        MIN_CHARS <= len(sentence) <= MAX_CHARS
        and len(sentence.split()) >= MIN_WORDS
        and _SENTENCE_END.search(sentence) is not None
        and "\n" not in sentence
    )


def real_sentences() -> list[str]:
    """Every distinct real sentence (SQuAD 2.0 dev contexts, then seeds/), in reading order.

    Split with ``sentencex``, stripped, first occurrence kept, 20..400 characters, at least
    4 words, ending like a sentence.
    """
    seen: dict[str, None] = {}
    for source in _sources():
        for sentence in source.sentences:
            if _keep(sentence):
                seen.setdefault(sentence)
    return list(seen)


# -- templates --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _names_and_templates() -> tuple[
    tuple[str, ...], tuple[_Template, ...], tuple[tuple[int, ...], ...]
]:
    """The name pool, the templates, and for each source the indices of its templates."""
    sentences = real_sentences()
    capitalised: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for sentence in sentences:
        lower.update(_LOWER_WORD.findall(sentence))
        for match in _NAME.finditer(sentence):
            if _WORD.search(sentence, 0, match.start()):  # not the first word
                capitalised[match.group()] += 1
    names = frozenset(
        word
        for word, count in capitalised.items()
        if word not in _NOT_NAMES and lower[word.lower()] < count
    )
    pool = tuple(sorted(names))

    templates: list[_Template] = []
    by_skeleton: dict[str, int] = {}
    index_of: dict[str, int] = {}
    for sentence in sentences:
        template, skeleton = _template(sentence, names, len(pool))
        if skeleton not in by_skeleton:
            by_skeleton[skeleton] = len(templates)
            templates.append(template)
        index_of[sentence] = by_skeleton[skeleton]
    per_source = tuple(
        tuple(sorted({index_of[s] for s in source.sentences if s in index_of}))
        for source in _sources()
    )
    return pool, tuple(templates), per_source


def _template(sentence: str, names: frozenset[str], pool_size: int) -> tuple[_Template, str]:
    """The sentence's template, and its skeleton: the fixed text with each slot's class.

    Two sentences with the same skeleton share a template (the first one's), so that any
    two templates differ in fixed text and cannot render the same string.
    """
    fmt: list[str] = []
    skeleton: list[str] = []
    slot_of: dict[str, int] = {}
    pools: list[tuple[int, int] | None] = []
    sizes: list[int] = []
    last = 0
    for match in _SLOT.finditer(sentence):
        value = match.group()
        if match.lastgroup == "name":
            if value not in names or not _WORD.search(sentence, 0, match.start()):
                continue
            spec: tuple[int, int] | None = None
            size = pool_size
            kind = "\x00N"
        else:
            spec, size = _number_pool(value)
            kind = f"\x00D{len(value)}"
        literal = sentence[last : match.start()]
        fmt.append(literal.replace("{", "{{").replace("}", "}}"))
        skeleton.append(literal + kind)
        if value not in slot_of:
            slot_of[value] = len(pools)
            pools.append(spec)
            sizes.append(size)
        fmt.append(f"{{{slot_of[value]}}}")
        last = match.end()
    fmt.append(sentence[last:].replace("{", "{{").replace("}", "}}"))
    skeleton.append(sentence[last:])
    capacity = math.prod(sizes)
    return _Template("".join(fmt), tuple(pools), tuple(sizes), capacity), "".join(skeleton)


def _number_pool(digits: str) -> tuple[tuple[int, int], int]:
    """What may replace a digit run: ``((low, width), size)``, same number of digits."""
    width = len(digits)
    if width == 1 or digits[0] == "0":
        return (0, width), 10**width
    if width == 4 and 1000 <= int(digits) <= 2099:  # a year stays a plausible year
        return (1000, 4), 1030
    return (10 ** (width - 1), width), 9 * 10 ** (width - 1)


# -- generation -------------------------------------------------------------------------------


def generate(
    n_sentences: int, *, seed: int = 0, sentences_per_article: int = 30
) -> Iterator[GeneratedArticle]:
    """Articles holding exactly ``n_sentences`` distinct sentences in all (see module doc).

    Deterministic for a given ``seed``; ids are ``synthetic/000000.txt``, ``...000001.txt``.
    """
    if n_sentences < 0 or sentences_per_article < 1:
        raise ValueError("n_sentences must be >= 0 and sentences_per_article >= 1")
    pool, shared, per_source = _names_and_templates()
    sources = _sources()
    rng = random.Random(seed)
    # Fresh use counters and permutations per call: the cached templates stay untouched.
    templates = [_Template(t.fmt, t.pools, t.sizes, t.capacity) for t in shared]
    for template in templates:
        if template.capacity > 1:
            template.b = rng.randrange(template.capacity)
            while True:
                template.a = rng.randrange(1, template.capacity)
                if math.gcd(template.a, template.capacity) == 1:
                    break
    if sum(t.capacity for t in templates) < n_sentences:
        raise ValueError(f"cannot make {n_sentences} distinct sentences from the templates")
    live_sources = [i for i, members in enumerate(per_source) if members]
    cum_weights = []
    total = 0
    for i in live_sources:
        total += len(per_source[i])
        cum_weights.append(total)
    n_templates = len(templates)
    pool_size = len(pool)
    scan_from = 0

    def fill(template: _Template) -> str:
        value = (template.a * template.used + template.b) % template.capacity
        template.used += 1
        values: list[str] = []
        for spec, size in zip(template.pools, template.sizes, strict=True):
            value, digit = divmod(value, size)
            if spec is None:
                values.append(pool[digit])
            else:
                values.append(str(spec[0] + digit).zfill(spec[1]))
        return template.fmt.format(*values)

    def draw(members: tuple[int, ...]) -> _Template:
        nonlocal scan_from
        for _ in range(32):
            if rng.random() < TOPICAL_SHARE:
                template = templates[members[rng.randrange(len(members))]]
            else:
                template = templates[rng.randrange(n_templates)]
            if template.used < template.capacity:
                return template
        # Nearly everything is spent (tiny pools only): take the next live template in order.
        while templates[scan_from].used >= templates[scan_from].capacity:
            scan_from += 1
        return templates[scan_from]

    article_no = 0
    remaining = n_sentences
    while remaining > 0:
        count = min(sentences_per_article, remaining)
        source = live_sources[rng.choices(range(len(live_sources)), cum_weights=cum_weights)[0]]
        members = per_source[source]
        sentences = [fill(draw(members)) for _ in range(count)]
        paragraphs: list[str] = []
        at = 0
        while at < count:
            size = rng.randint(1, MAX_PARAGRAPH)
            paragraphs.append(" ".join(sentences[at : at + size]))
            at += size
        first, second = pool[rng.randrange(pool_size)], pool[rng.randrange(pool_size)]
        title = f"{sources[source].topic}: {first} {second} report {article_no + 1}"
        yield GeneratedArticle(
            id=f"synthetic/{article_no:06d}.txt",
            title=title,
            text=title + "\n\n" + "\n\n".join(paragraphs) + "\n",
            sentence_count=count,
            sentences=tuple(sentences),
        )
        article_no += 1
        remaining -= count


def write_corpus(folder: Path, n_sentences: int, *, seed: int = 0) -> int:
    """Write the articles as ``folder/0000/000000.txt`` ... (1,000 a subfolder); file count.

    ``read_corpus(folder)`` gives them ids such as ``0000/000000.txt`` (paths relative to
    ``folder``), not the ``synthetic/...`` ids of ``GeneratedArticle``.
    """
    folder = Path(folder)
    files = 0
    current = None
    for number, article in enumerate(generate(n_sentences, seed=seed)):
        sub = folder / f"{number // FILES_PER_FOLDER:04d}"
        if sub != current:
            sub.mkdir(parents=True, exist_ok=True)
            current = sub
        (sub / f"{number:06d}.txt").write_text(article.text, encoding="utf-8")
        files += 1
    return files


def write_jsonl(path: Path, n_sentences: int, *, seed: int = 0) -> int:
    """Write one JSON object a line (``id``, ``title``, ``text``); returns the article count.

    ``retrieval.read.readers.read_corpus(path)`` reads each line as one document with that id.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for article in generate(n_sentences, seed=seed):
            record = {"id": article.id, "title": article.title, "text": article.text}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            lines += 1
    return lines


# -- stand-in vectors -------------------------------------------------------------------------


def standin_vectors(n: int, base: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """``n`` float32 unit vectors shaped like real sentence vectors (see module doc).

    Each is ``normalise(normalise(w1*b1 + w2*b2 + w3*b3) + noise)``: three rows of ``base``
    (real encoded sentences, shape ``(m, dim)``) drawn at random, positive random weights,
    and Gaussian noise of sigma ``0.05 / sqrt(dim)`` per component (about 0.05 in norm).
    Made in chunks of ``STANDIN_CHUNK`` rows, so beyond the result only a few tens of MB are
    used. Deterministic for a given ``seed``, ``n`` and ``base``.
    """
    base = np.asarray(base, dtype=np.float32)
    if base.ndim != 2 or base.shape[0] < 1:
        raise ValueError("base must be a non-empty (m, dim) array of real vectors")
    if n < 0:
        raise ValueError("n must be >= 0")
    norms = np.linalg.norm(base, axis=1, keepdims=True)
    base = base / np.maximum(norms, 1e-12)
    m, dim = base.shape
    sigma = STANDIN_NOISE / math.sqrt(dim)
    out = np.empty((n, dim), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, n, STANDIN_CHUNK):
        rows = min(STANDIN_CHUNK, n - start)
        picks = rng.integers(0, m, size=(rows, 3))
        weights = rng.uniform(0.1, 1.0, size=(rows, 3)).astype(np.float32)
        mix = weights[:, :1] * base[picks[:, 0]]
        for k in (1, 2):
            mix += weights[:, k : k + 1] * base[picks[:, k]]
        mix /= np.maximum(np.linalg.norm(mix, axis=1, keepdims=True), 1e-12)
        mix += np.float32(sigma) * rng.standard_normal((rows, dim), dtype=np.float32)
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        out[start : start + rows] = mix
    return out


def main() -> None:
    """``python -m benchmarks.scale_corpus N [--seed S] [--out DIR|FILE.jsonl]``: time it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("n_sentences", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="folder, or a .jsonl file")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.out is None:
        articles = sum(1 for _ in generate(args.n_sentences, seed=args.seed))
    elif args.out.suffix == ".jsonl":
        articles = write_jsonl(args.out, args.n_sentences, seed=args.seed)
    else:
        articles = write_corpus(args.out, args.n_sentences, seed=args.seed)
    elapsed = time.perf_counter() - start
    print(
        f"{args.n_sentences:,} sentences, {articles:,} articles in {elapsed:.1f} s", file=sys.stderr
    )


if __name__ == "__main__":
    main()
