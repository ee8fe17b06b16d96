"""The pure core of the notifier: what to say, to whom, and how to sign it."""
