"""Probity (廉盾): an integrity platform for customer-service organisations."""

__version__ = "0.1.0"
