"""The review loop: what the bot could not answer, turned into FAQ improvements.

Record (:mod:`bot.recording`) -> review (:mod:`bot.review.clusters`: misses
clustered by :mod:`bot.review.clustering`, ranked, with a suggestion) ->
decide (:mod:`bot.review.decisions`: accept, new FAQ, dismiss) -> apply
(:mod:`bot.review.apply`: a new FAQ source, the old one untouched). The
command line is :mod:`bot.review.cli`; a chat front end (the Slack App Home)
calls :func:`bot.review.clusters.review` and the functions of
:mod:`bot.review.decisions` directly. See docs/review-loop.md.
"""
