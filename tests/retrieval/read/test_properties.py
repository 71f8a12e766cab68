"""Property tests of reading and splitting (hypothesis): any bytes in any supported file.

Reading never raises for a file's content (problems become skipped entries); every document
read is valid UTF-8 with indexable spans inside its text, in order; every sentence and passage
the splitter makes lies inside those spans and is a non-empty slice of the text.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.read.readers import SkippedFile, content_hash, read_file
from retrieval.split.segment import segment

SUFFIXES = (".txt", ".md", ".html", ".jsonl")

prose = st.text(
    alphabet=st.sampled_from(list("abc XYZ.!?\n\t,;:'\"()-0123456789éü中。—<>&/")), max_size=2000
)
contents = st.one_of(
    st.binary(max_size=2000),
    prose.map(lambda t: t.encode("utf-8")),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(
        lambda text, title: (json.dumps({"id": "x", "text": text, "title": title}) + "\n").encode(),
        prose,
        st.text(max_size=50),
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=contents, suffix=st.sampled_from(SUFFIXES))
def test_any_file_reads_and_splits_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"article{suffix}"
    path.write_bytes(data)
    skipped: list[SkippedFile] = []
    documents = read_file(path, path.name, skipped)
    assert all(s.reason for s in skipped)
    for doc in documents:
        doc.text.encode("utf-8")  # no lone surrogates reach the store
        assert content_hash(doc)
        last = 0
        for span in doc.indexable:
            assert last <= span.start < span.end <= len(doc.text)
            last = span.end
        sentences, passages = segment(doc, passage_sentences=6)
        for sentence in sentences:
            assert any(s.start <= sentence.start < sentence.end <= s.end for s in doc.indexable)
            assert doc.text[sentence.start : sentence.end].strip()
        assert all(p.first_sentence <= p.last_sentence < len(sentences) for p in passages)
