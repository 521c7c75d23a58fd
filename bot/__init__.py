"""The Slack front end of faq-bot: a Bolt app answering mentions, /faq and DMs from an FAQ index."""
