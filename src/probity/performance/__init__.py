"""Performance management: appraisal cycles, the compliance KPI, scorecards, bonuses,
合规标兵 and promotion priority."""
