"""Orders, notices and own-initiative entries: intake, actions, reads, and the pure rules."""
