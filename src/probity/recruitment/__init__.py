"""Recruitment: requisitions, the candidate pipeline, interview feedback and hiring."""
