"""The rollout config: what it holds and checks, its topic, and following it (the
rendezvous decides by it; workers read by it)."""
