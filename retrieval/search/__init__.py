"""Stage 4, search: a question and an opened index in; scored candidate sentences out.

``query`` cleans what a person typed (or says why it cannot be answered); ``candidates`` finds
sentences by their vectors and by the question's words and scores each with its passage, using
``coverage`` (the IDF-weighted share of the question's terms a sentence holds) and
``answer_type`` (a number for "how many", a date for "when", a name for "who").
"""
