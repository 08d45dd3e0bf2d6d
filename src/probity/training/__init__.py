"""Compliance training: courses and quizzes, assignments, case studies, the chat gate."""
