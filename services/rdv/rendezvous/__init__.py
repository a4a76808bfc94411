"""The rendezvous: answers each request inside the SLA from the scores that arrived."""
