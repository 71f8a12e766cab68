"""Stage 5, choose quotes: scored candidates in; an ``Answer`` of verbatim, cited quotes out.

``answering.answer`` is the one answering function: the bot, the command line and the
evaluation harness all call it. ``quotes`` cuts the candidates into quotes from the stored
text, never rewritten, each reading on its own, none overlapping, agreement between articles
folded into one; ``answering`` declines (naming the closest topics) when none scores enough.
"""
