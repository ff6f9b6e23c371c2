"""NLP components (entities, linking, classifiers) and the pipeline that assembles them."""
