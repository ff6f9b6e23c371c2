"""Evaluation commands: own test split and transfer checks on public datasets."""
