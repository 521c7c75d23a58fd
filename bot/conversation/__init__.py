"""What a question becomes as a reply, on any platform: answering (:mod:`~bot.conversation.answering`,
batched by :mod:`~bot.conversation.batching`), the neutral reply content (:mod:`~bot.conversation.replies`),
what a button carries (:mod:`~bot.conversation.payloads`) and text clean-up (:mod:`~bot.conversation.text`)."""
