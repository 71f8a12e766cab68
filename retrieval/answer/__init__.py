"""Stage 5, choose quotes: scored candidates in; an ``Answer`` of verbatim, cited quotes out.

``answering.answer`` is the one answering function: the bot, the command line and the
evaluation harness all call it. It cuts quotes from the stored text, never rewritten, and
declines (naming the closest topics) when nothing scores high enough.
"""
