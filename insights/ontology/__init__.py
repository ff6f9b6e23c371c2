"""The one terminology source: concept data files, loader, validator and alias index."""

from insights.ontology.loader import get_ontology, load_ontology
from insights.ontology.model import KIND_LABEL, LABEL_KINDS, Concept, Ontology

__all__ = ["KIND_LABEL", "LABEL_KINDS", "Concept", "Ontology", "get_ontology", "load_ontology"]
