"""Text components: normalise, sentence split, tokenise."""
