"""The review loop: what the bot could not answer, turned into FAQ improvements.

Record (:mod:`bot.features.recording`) -> review (:mod:`bot.features.review.clusters`: misses
clustered by :mod:`bot.features.review.clustering`, ranked, with a suggestion) ->
decide (:mod:`bot.features.review.decisions`: accept, new FAQ, dismiss) -> apply
(:mod:`bot.features.review.apply`: a new FAQ source, the old one untouched). The
command line is :mod:`bot.cli.review`; a chat front end (the Slack App Home)
calls :func:`bot.features.review.clusters.review` and the functions of
:mod:`bot.features.review.decisions` directly. See docs/review-loop.md.
"""
