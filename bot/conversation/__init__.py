"""What a question becomes as a reply: answering, batching, the neutral reply content, the words, button payloads."""
