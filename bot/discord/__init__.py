"""faq-bot on Discord: ``python -m bot discord``, the :class:`~bot.platform.Platform`
in :mod:`bot.discord.main`.

The same question → answer core as Slack (:mod:`bot.conversation.answering`,
the durable intake and the store), with Discord's transport (discord.py 2.x
over the Gateway), its ``/faq`` command with autocomplete, and a renderer of
the platform-neutral reply content as embeds and buttons.
"""
