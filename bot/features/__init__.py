"""What the bot does beyond answering: recording questions, votes, the hand-off,
the digest, the review loop, the store's clean-up."""
