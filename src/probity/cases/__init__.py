"""Cases: alerts grouped and worked through triage, investigation, decision, penalty, appeal."""
