"""The HR duty roster: who of HR is on call, alerts routed to them, uncovered risky windows."""
